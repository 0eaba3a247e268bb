package journalconf

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/podexporter/podexporter/internal/setting"
)

// The host's own logs: selections of journal entries that are not container lines,
// read besides them. Each becomes journal match terms (sd_journal_add_match(3)), so
// that libsystemd reads only what they select.

// unitTypes are the suffixes of systemd unit names (systemd.unit(5)). journalctl -u
// appends .service to a name without one; a journal match does not, and
// _SYSTEMD_UNIT=sshd matches nothing.
var unitTypes = []string{".service", ".socket", ".device", ".mount", ".automount", ".swap", ".target", ".path", ".timer", ".slice", ".scope"}

// MaxFieldName is the longest journal field name journald stores
// (journal_field_valid in systemd's sd-journal).
const MaxFieldName = 64

// fieldNameProblem says what is wrong with a journal field name given in a match, or
// "" when nothing is. sd_journal_add_match takes upper-case letters, digits and _,
// not beginning with __ (the cursor and timestamps, which are no fields); journald
// stores no name that begins with a digit or is longer than 64 characters, so a match
// on one selects nothing.
func fieldNameProblem(name string) string {
	switch {
	case name == "":
		return "no field name before ="
	case strings.HasPrefix(name, "__"):
		return fmt.Sprintf("%s begins with __, which names no journal field (cursors and timestamps are no matches)", name)
	case name[0] >= '0' && name[0] <= '9':
		return fmt.Sprintf("%s begins with a digit, which no journal field does", name)
	case len(name) > MaxFieldName:
		return fmt.Sprintf("%s is longer than %d characters, which no journal field is", name, MaxFieldName)
	}
	for _, c := range name {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return fmt.Sprintf("%s is not a journal field name (upper-case letters, digits and _ only)", name)
		}
	}
	return ""
}

// ParseMatch reads one --journal.match expression, written as journalctl takes its
// matches: FIELD=value words separated by spaces, where values of one field are
// alternatives and different fields must all match (journalctl FIELD=a FIELD2=b), and
// a + word between groups makes them alternatives (journalctl A=1 + B=2). It returns
// the groups as journal match terms, each a list of FIELD=value. A value cannot hold
// whitespace.
func ParseMatch(expr string) ([][]string, error) {
	var terms [][]string
	var term []string
	words := strings.Fields(expr)
	if len(words) == 0 {
		return nil, fmt.Errorf("empty match")
	}
	for _, w := range words {
		if w == "+" {
			if len(term) == 0 {
				return nil, fmt.Errorf("%q: + must stand between two groups of FIELD=value", expr)
			}
			terms, term = append(terms, term), nil
			continue
		}
		field, value, ok := strings.Cut(w, "=")
		if !ok {
			return nil, fmt.Errorf("%q has no =: a match is FIELD=value", w)
		}
		if p := fieldNameProblem(field); p != "" {
			return nil, fmt.Errorf("%q: %s", w, p)
		}
		if value == "" {
			return nil, fmt.Errorf("%q has no value: an empty value selects only entries whose %s is empty", w, field)
		}
		if field == "PRIORITY" && (len(value) != 1 || value[0] < '0' || value[0] > '7') {
			return nil, fmt.Errorf("%q: journald writes PRIORITY as one digit, 0 (emerg) to 7 (debug)", w)
		}
		term = append(term, w)
	}
	if len(term) == 0 {
		return nil, fmt.Errorf("%q: + must stand between two groups of FIELD=value", expr)
	}
	return append(terms, term), nil
}

// validateHostLogs checks the host logs' selections.
func (s *Settings) validateHostLogs() error {
	for _, u := range s.Units {
		if u == "" || strings.ContainsFunc(u, unicode.IsSpace) {
			return &setting.Error{Setting: "--journal.units", Problem: fmt.Sprintf("%q is not a unit name", u), Fix: "give a unit's full name, such as sshd.service"}
		}
		if !hasUnitType(u) {
			return &setting.Error{Setting: "--journal.units", Problem: fmt.Sprintf("%q has no unit type: journal matches take the full name (journalctl -u adds .service, a match does not)", u),
				Fix: fmt.Sprintf("write %s.service, or the unit's own type such as .socket or .timer", u)}
		}
	}
	for _, id := range s.Identifiers {
		if id == "" || strings.TrimSpace(id) != id || strings.ContainsFunc(id, unicode.IsControl) {
			return &setting.Error{Setting: "--journal.identifiers", Problem: fmt.Sprintf("%q is not a syslog identifier (empty, or with leading or trailing space or control characters)", id),
				Fix: "give SYSLOG_IDENTIFIER's value as journalctl -t takes it, such as sshd or sudo"}
		}
	}
	for _, m := range s.Matches {
		if _, err := ParseMatch(m); err != nil {
			return &setting.Error{Setting: "--journal.match", Problem: err.Error(),
				Fix: "write journalctl's matches: FIELD=value words, such as _SYSTEMD_UNIT=sshd.service or SYSLOG_IDENTIFIER=sudo _UID=0 (values of one field are alternatives, different fields all apply); repeat the flag for alternatives"}
		}
	}
	return nil
}

func hasUnitType(u string) bool {
	for _, t := range unitTypes {
		if strings.HasSuffix(u, t) && len(u) > len(t) {
			return true
		}
	}
	return false
}

// HostLogs says whether any of the host's own entries are selected.
func (s *Settings) HostLogs() bool {
	return len(s.Units) > 0 || len(s.Identifiers) > 0 || len(s.Matches) > 0 || s.Kernel
}

package journald

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/podexporter/podexporter/logrecord"
)

// The host's own logs. Besides conmon's container lines, the reader reads the entries
// of host selections: units (_SYSTEMD_UNIT), syslog identifiers (SYSLOG_IDENTIFIER),
// the kernel (_TRANSPORT=kernel) and journalctl-style matches. Each selection is a
// journal match term OR'ed with conmon's (matchTerms), so libsystemd skips what none
// selects; the per-entry check (hostSelected) stays the final word, as the name
// filters' does, since an entry read through conmon's term may match no selection.
//
// An entry with a container id is a container line whatever else matches it: a
// Quadlet container's conmon runs in its unit, so --journal.units of that unit
// matches its lines too, and they stay subject to the container filters.

// hostRecordFields are the fields a host record carries besides the fixed ones
// (logrecord.HostEntry), read only when a host selection is configured.
var hostRecordFields = [nHost]string{"_PID", "_EXE", "_COMM", "_TRANSPORT", "SYSLOG_FACILITY"}

const (
	hPID = iota
	hExe
	hComm
	hTransport
	hFacility
	nHost
)

// hostTerms are the journal match terms of the host selections, without the
// priority cap (matchTerms adds it): within a term, values of one field are
// alternatives and different fields all apply; terms are alternatives.
func hostTerms(cfg *Config) [][]string {
	var terms [][]string
	add := func(field string, values []string) {
		if len(values) == 0 {
			return
		}
		term := make([]string, len(values))
		for i, v := range values {
			term[i] = field + "=" + v
		}
		terms = append(terms, term)
	}
	add("_SYSTEMD_UNIT", cfg.Units)
	add("SYSLOG_IDENTIFIER", cfg.Identifiers)
	if cfg.Kernel {
		add("_TRANSPORT", []string{"kernel"})
	}
	for _, m := range cfg.Matches {
		terms = append(terms, append([]string(nil), m...))
	}
	return terms
}

// withPriority is a host term with the priority cap applied: the cap's priorities
// added, or, when the term names priorities of its own, those of them the cap lets
// through. ok is false when none does: the term can select nothing.
func withPriority(term, prio []string) (out []string, ok bool) {
	if prio == nil {
		return term, true
	}
	var own, rest []string
	for _, m := range term {
		if strings.HasPrefix(m, "PRIORITY=") {
			own = append(own, m)
		} else {
			rest = append(rest, m)
		}
	}
	if own == nil {
		return append(rest, prio...), true
	}
	// Added together, the term's own priorities and the cap's would be alternatives
	// of one field: the cap would widen the term instead of narrowing it.
	n := len(rest)
	for _, m := range own {
		for _, p := range prio {
			if m == p {
				rest = append(rest, m)
				break
			}
		}
	}
	return rest, len(rest) > n
}

// fieldTable lists the fields the reader asks libsystemd for, each once (libsystemd
// hands each field to the first name that matches it): the fixed fields at their
// constants, then the extra fields, the host records' fields and the fields the host
// terms name.
type fieldTable struct {
	names []string
	index map[string]int
	// extra[i] is where Config.ExtraFields[i] is; host[i] where hostRecordFields[i]
	// is, -1 when not read.
	extra []int
	host  [nHost]int
}

func newFieldTable(cfg *Config, terms [][]string) *fieldTable {
	ft := &fieldTable{index: map[string]int{}}
	for _, n := range fixedFields {
		ft.at(n)
	}
	for _, n := range cfg.ExtraFields {
		ft.extra = append(ft.extra, ft.at(n))
	}
	for i := range ft.host {
		ft.host[i] = -1
		if len(terms) > 0 {
			ft.host[i] = ft.at(hostRecordFields[i])
		}
	}
	for _, term := range terms {
		for _, m := range term {
			field, _, _ := strings.Cut(m, "=")
			ft.at(field)
		}
	}
	return ft
}

// at returns where field is, adding it.
func (ft *fieldTable) at(field string) int {
	if i, ok := ft.index[field]; ok {
		return i
	}
	ft.index[field] = len(ft.names)
	ft.names = append(ft.names, field)
	return len(ft.names) - 1
}

// hostClause is one field of a host term and its alternative values.
type hostClause struct {
	at     int
	values []string
}

// hostTerm is a host selection as the per-entry check applies it: every clause holds.
type hostTerm []hostClause

// compileTerms turns match terms into clauses over the field table.
func compileTerms(terms [][]string, ft *fieldTable) ([]hostTerm, error) {
	var out []hostTerm
	for _, term := range terms {
		var ht hostTerm
		for _, m := range term {
			field, value, ok := strings.Cut(m, "=")
			if !ok || field == "" {
				return nil, fmt.Errorf("journal match %q: not FIELD=value", m)
			}
			at := ft.at(field)
			i := 0
			for i < len(ht) && ht[i].at != at {
				i++
			}
			if i == len(ht) {
				ht = append(ht, hostClause{at: at})
			}
			ht[i].values = append(ht[i].values, value)
		}
		out = append(out, ht)
	}
	return out, nil
}

// field is the value of the i-th wanted field, nil when the entry lacks it (or the
// entry was built with fewer fields, as the tests that feed handle do).
func (e *rawEntry) field(i int) []byte {
	if i < 0 || i >= len(e.fields) {
		return nil
	}
	return e.fields[i]
}

// holds says whether one of the entry's values of the clause's field is one of its
// values: an entry may carry a field more than once, and a journal match selects it
// when any of them matches.
func (c *hostClause) holds(e *rawEntry) bool {
	if c.has(e.field(c.at)) {
		return true
	}
	for _, m := range e.more {
		if m.at == c.at && c.has(m.value) {
			return true
		}
	}
	return false
}

func (c *hostClause) has(v []byte) bool {
	if v == nil {
		return false
	}
	for _, want := range c.values {
		if string(v) == want {
			return true
		}
	}
	return false
}

// hostSelected says whether a host selection chose the current entry.
func (t *tail) hostSelected() bool {
	for _, term := range t.r.host {
		all := true
		for i := range term {
			if !term[i].holds(&t.e) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// hostEntry is what a host record says of where the current entry came from.
func (t *tail) hostEntry() *logrecord.HostEntry {
	h := &t.r.fields.host
	e := &t.e
	he := &logrecord.HostEntry{
		Exe:       t.intern(e.field(h[hExe])),
		Comm:      t.intern(e.field(h[hComm])),
		Transport: t.intern(e.field(h[hTransport])),
		Facility:  -1,
	}
	if v, err := strconv.Atoi(string(e.field(h[hPID]))); err == nil && v > 0 {
		he.PID = v
	}
	if v, err := strconv.Atoi(string(e.field(h[hFacility]))); err == nil && v >= 0 {
		he.Facility = v
	}
	return he
}

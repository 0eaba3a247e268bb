package journalconf

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/podexporter/podexporter/internal/setting"
)

// TestParseMatch: an expression is read as journalctl reads its matches, and what
// journalctl would take but can select nothing (or is a typo) is refused with why.
func TestParseMatch(t *testing.T) {
	for _, tc := range []struct {
		expr    string
		want    string // terms joined by " | ", matches by " "
		problem string // a word the error must hold; "" for none
	}{
		{"_SYSTEMD_UNIT=sshd.service", "_SYSTEMD_UNIT=sshd.service", ""},
		{"  SYSLOG_IDENTIFIER=sudo   _UID=0 ", "SYSLOG_IDENTIFIER=sudo _UID=0", ""},
		{"A=1 A=2 B=3", "A=1 A=2 B=3", ""},
		{"A=1 + B=2 C=3", "A=1 | B=2 C=3", ""},
		{"MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1", "MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1", ""},
		{"F=a=b", "F=a=b", ""}, // the first = ends the name, as in journalctl
		{"PRIORITY=3", "PRIORITY=3", ""},
		{"", "", "empty"},
		{"   ", "", "empty"},
		{"sshd.service", "", "no ="},
		{"_systemd_unit=x", "", "upper-case"},
		{"CODE-FILE=x", "", "upper-case"},
		{"=x", "", "no field name"},
		{"__CURSOR=s=1", "", "__"},
		{"1FIELD=x", "", "digit"},
		{strings.Repeat("F", 65) + "=x", "", "64"},
		{"_PID=", "", "no value"},
		{"PRIORITY=err", "", "0 (emerg)"},
		{"PRIORITY=10", "", "0 (emerg)"},
		{"+ A=1", "", "between"},
		{"A=1 +", "", "between"},
		{"A=1 + + B=1", "", "between"},
	} {
		terms, err := ParseMatch(tc.expr)
		if tc.problem != "" {
			if err == nil || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("ParseMatch(%q) = %q, %v; want an error about %q", tc.expr, terms, err, tc.problem)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseMatch(%q): %v", tc.expr, err)
			continue
		}
		var got []string
		for _, term := range terms {
			got = append(got, strings.Join(term, " "))
		}
		if g := strings.Join(got, " | "); g != tc.want {
			t.Errorf("ParseMatch(%q) = %s, want %s", tc.expr, g, tc.want)
		}
	}
}

// TestValidateHostLogs: each host selection's bad values name their flag, with a fix,
// as a *setting.Error (exit code 2); good ones pass.
func TestValidateHostLogs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Settings)
		flag   string // "" when valid
		fix    string
	}{
		{"all off", func(*Settings) {}, "", ""},
		{"good selections", func(s *Settings) {
			s.Units = []string{"sshd.service", "podman-auto-update.timer", "user@1000.service", "machine.slice"}
			s.Identifiers = []string{"sudo", "postfix/smtpd"}
			s.Matches = []string{"_UID=0 SYSLOG_IDENTIFIER=sudo", "A=1 + B=2"}
			s.Kernel = true
		}, "", ""},
		{"unit without type", func(s *Settings) { s.Units = []string{"sshd"} }, "--journal.units", "sshd.service"},
		{"empty unit", func(s *Settings) { s.Units = []string{""} }, "--journal.units", "sshd.service"},
		{"unit with a space", func(s *Settings) { s.Units = []string{"a b.service"} }, "--journal.units", "sshd.service"},
		{"bare type", func(s *Settings) { s.Units = []string{".service"} }, "--journal.units", ".service"},
		{"empty identifier", func(s *Settings) { s.Identifiers = []string{""} }, "--journal.identifiers", "journalctl -t"},
		{"identifier with a trailing space", func(s *Settings) { s.Identifiers = []string{"sudo "} }, "--journal.identifiers", "journalctl -t"},
		{"match without =", func(s *Settings) { s.Matches = []string{"sshd"} }, "--journal.match", "FIELD=value"},
		{"match with a lower-case field", func(s *Settings) { s.Matches = []string{"_comm=sshd"} }, "--journal.match", "_SYSTEMD_UNIT=sshd.service"},
		{"empty match", func(s *Settings) { s.Matches = []string{""} }, "--journal.match", "FIELD=value"},
		{"match without value", func(s *Settings) { s.Matches = []string{"_COMM="} }, "--journal.match", "FIELD=value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := valid()
			tc.change(&s)
			err := s.Validate()
			if tc.flag == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			var se *setting.Error
			if !errors.As(err, &se) || se.Setting != tc.flag || !strings.Contains(se.Fix, tc.fix) {
				t.Fatalf("Validate() = %v; want %s with a fix that says %q", err, tc.flag, tc.fix)
			}
		})
	}
}

func ExampleParseMatch() {
	terms, _ := ParseMatch("SYSLOG_IDENTIFIER=sudo _UID=0 + _TRANSPORT=kernel PRIORITY=3")
	fmt.Println(terms)
	// Output: [[SYSLOG_IDENTIFIER=sudo _UID=0] [_TRANSPORT=kernel PRIORITY=3]]
}

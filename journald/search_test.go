package journald

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// TestLastMessage writes two lines under two identifiers into the real journal and
// finds each through the matches that select it, alternatives included, with
// journalctl under the same matches as the witness.
func TestLastMessage(t *testing.T) {
	testenv.SkipShort(t, "journald")
	testenv.RequireJournald(t)
	token := fmt.Sprintf("pe-search-%d", time.Now().UnixNano())
	gen, other := "quadlet-generator", "pe-search-other"
	for _, l := range []struct{ ident, msg string }{
		{gen, fmt.Sprintf("%s[1]: converting %q: unsupported key 'Imag'", gen, token+"-a.container")},
		{other, fmt.Sprintf("%s[1]: converting %q: no Image key", gen, token+"-b.container")},
	} {
		cmd := exec.Command("systemd-cat", "-t", l.ident)
		cmd.Stdin = strings.NewReader(l.msg + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("systemd-cat: %v: %s", err, out)
		}
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		matches []string
		file    string
		found   bool
	}{
		{"one identifier", []string{"SYSLOG_IDENTIFIER=" + gen}, token + "-a.container", true},
		{"either identifier", []string{"SYSLOG_IDENTIFIER=" + gen, "SYSLOG_IDENTIFIER=" + other}, token + "-b.container", true},
		// Last: both lines are in the journal by now, so absence means the matches.
		{"not under that identifier", []string{"SYSLOG_IDENTIFIER=" + gen}, token + "-b.container", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := fmt.Sprintf("%q", tc.file)
			var msg string
			testenv.Eventually(t, 10*time.Second, "journalctl under the same matches to agree", func() bool {
				args := []string{"-o", "cat", "--no-pager"}
				for i, m := range tc.matches {
					if i > 0 {
						args = append(args, "+")
					}
					args = append(args, m)
				}
				out, _ := exec.Command("journalctl", args...).Output()
				return strings.Contains(string(out), want) == tc.found
			})
			var err error
			testenv.Eventually(t, 10*time.Second, "the search", func() bool {
				msg, err = LastMessage(ctx, "", tc.matches, want, 20000)
				return err != nil || (msg != "") == tc.found
			})
			if err != nil {
				t.Fatal(err)
			}
			if tc.found && !strings.Contains(msg, want) {
				t.Errorf("found %q, want a message naming %s", msg, want)
			}
			if !tc.found && msg != "" {
				t.Errorf("found %q under matches that do not select it", msg)
			}
		})
	}
}

package journald

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/logrecord"
)

// sdCat writes lines to the journal through systemd-cat under identifier ident: a
// service's standard output, _TRANSPORT=stdout.
func sdCat(t testing.TB, ident string, lines ...string) {
	t.Helper()
	cmd := exec.Command("systemd-cat", "-t", ident, "-p", "info")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-cat: %v: %s", err, out)
	}
}

// journalSend writes one entry of the given fields ("NAME=value", a name may repeat)
// through the native protocol, as sd_journal_send does: _TRANSPORT=journal.
func journalSend(t testing.TB, fields ...string) {
	t.Helper()
	cmd := exec.Command("logger", "--journald")
	cmd.Stdin = strings.NewReader(strings.Join(fields, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("logger --journald: %v: %s", err, out)
	}
}

// kmsg writes a line to the kernel's log buffer, which journald reads as a kernel
// message (_TRANSPORT=kernel; "ident: text" gives SYSLOG_IDENTIFIER=ident). The line
// must end in a newline: the kernel holds one without for a continuation until the
// next message comes.
func kmsg(t testing.TB, line string) {
	t.Helper()
	if err := os.WriteFile("/dev/kmsg", []byte(line), 0); err != nil {
		t.Fatalf("write /dev/kmsg: %v", err)
	}
}

// TestLiveHostLogs writes the host's own entries of every kind into the running
// journald (a service's output, native entries with custom fields, one field twice,
// kernel messages) and reads them with host selections, stopping and restarting from
// the saved cursor halfway: the two runs deliver, each once and in order, exactly
// what journalctl prints for the same matches after the start, with the fields it
// shows.
func TestLiveHostLogs(t *testing.T) {
	testenv.RequireJournald(t)
	testenv.RequireRoot(t) // writes /dev/kmsg
	testenv.RequireTool(t, "systemd-cat")
	testenv.RequireTool(t, "logger")
	tag := testenv.UniqueName("host")
	// The start is an entry the selections pick: journalctl --after-cursor skips one
	// entry past the cursor's position whether or not its matches select the
	// cursor's entry (sd_journal_next_skip(j, 2)), where the reader resumes at the
	// first selected entry after it.
	sdCat(t, tag, "start")
	var start string
	testenv.Eventually(t, 10*time.Second, "journalctl to show the start marker", func() bool {
		for c := range journalctlJSON(t, "", "SYSLOG_IDENTIFIER="+tag) {
			start = c
		}
		return start != ""
	})
	cp := NewCheckpoint(filepath.Join(t.TempDir(), "cursor"))
	if err := cp.Save(start); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		// No container of that name: conmon's term selects nothing here.
		IncludeContainer: regexp.MustCompile("^" + tag + "$"),
		Identifiers:      []string{tag},
		Kernel:           true,
		Matches:          [][]string{{"SYSLOG_IDENTIFIER=" + tag + "-m", "PODEXPORTER_TEST=red", "PODEXPORTER_TEST=blue"}},
		Checkpoint:       cp,
		BatchSize:        5,
	}
	args := []string{"SYSLOG_IDENTIFIER=" + tag, "+", "_TRANSPORT=kernel", "+", "SYSLOG_IDENTIFIER=" + tag + "-m", "PODEXPORTER_TEST=red", "PODEXPORTER_TEST=blue"}

	part := func(n int) {
		t.Helper()
		var lines []string
		for i := range 10 {
			lines = append(lines, fmt.Sprintf("ident %d.%d", n, i))
		}
		sdCat(t, tag, lines...)
		for _, v := range []string{"red", "blue", "green"} {
			journalSend(t, "MESSAGE=custom "+v+fmt.Sprint(n), "SYSLOG_IDENTIFIER="+tag+"-m", "PODEXPORTER_TEST="+v, "PRIORITY=4")
		}
		journalSend(t, fmt.Sprintf("MESSAGE=custom twice %d", n), "SYSLOG_IDENTIFIER="+tag+"-m", "PODEXPORTER_TEST=green", "PODEXPORTER_TEST=blue")
		for i := range 3 {
			kmsg(t, fmt.Sprintf("<4>%s-k: kernel %d.%d\n", tag, n, i))
		}
		sdCat(t, tag+"-other", "not selected")
		// All of it in the journal before the part's last entry.
		testenv.Eventually(t, 10*time.Second, "journalctl to show the part", func() bool {
			return len(testenv.Journal(t, "SYSLOG_IDENTIFIER="+tag+"-k")) >= n*3 && len(testenv.Journal(t, "SYSLOG_IDENTIFIER="+tag+"-m")) >= n*4 &&
				len(testenv.Journal(t, "SYSLOG_IDENTIFIER="+tag)) >= 1+n*11-1
		})
		sdCat(t, tag, fmt.Sprintf("end %d", n))
	}
	delivered := func(sink *collect, body string) func() bool {
		return func() bool { return slices.Contains(bodies(sink.get()), body) }
	}

	part(1)
	l1 := startLive(t, cfg, &collect{})
	testenv.Eventually(t, 20*time.Second, "the first part's end", delivered(l1.sink, "end 1"))
	l1.stop(t)
	part(2)
	l2 := startLive(t, cfg, &collect{})
	testenv.Eventually(t, 20*time.Second, "the second part's end", delivered(l2.sink, "end 2"))
	l2.stop(t)

	upTo := func(lines []string, last string) []string {
		i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, last+"|") })
		if i < 0 {
			t.Fatalf("%q not among %d lines", last, len(lines))
		}
		return lines[:i+1]
	}
	recs := slices.Concat(l1.sink.get(), l2.sink.get())
	got := upTo(recordLines(recs), "end 2")
	want := upTo(journalLinesAfter(t, start, args...), "end 2")
	if !slices.Equal(got, want) {
		t.Fatalf("the two runs delivered %d records, journalctl --after-cursor prints %d; missing %q, extra or repeated %q", len(got), len(want), diff(want, got), diff(got, want))
	}
	recs = recs[:len(got)]
	checkHostFields(t, recs, journalctlJSON(t, "", append([]string{"--after-cursor=" + start}, args...)...))

	// What each selection brought, told apart from the host's other kernel messages.
	count := func(f func(r logrecord.Record) bool) int {
		n := 0
		for _, r := range recs {
			if f(r) {
				n++
			}
		}
		return n
	}
	for what, c := range map[string][2]int{
		"identifier": {count(func(r logrecord.Record) bool { return r.Identifier == tag && r.Host.Transport == "stdout" }), 22},
		"custom":     {count(func(r logrecord.Record) bool { return r.Identifier == tag+"-m" }), 6},
		"kernel": {count(func(r logrecord.Record) bool {
			return r.Identifier == tag+"-k" && r.Host.Transport == "kernel" && r.Host.PID == 0 && r.Host.Facility == 1 && r.Priority == 4
		}), 6},
	} {
		if c[0] != c[1] {
			t.Errorf("%s: %d records, want %d", what, c[0], c[1])
		}
	}
	for _, r := range recs {
		if r.Host == nil {
			t.Errorf("a container line came through: %+v", r)
		}
		if strings.HasPrefix(r.Body, "custom green") {
			t.Errorf("an entry no selection picks came through: %q", r.Body)
		}
	}
}

// journalLinesAfter is what journalctl prints of the local journal after cursor for
// args, as "MESSAGE|cursor" in journal order.
func journalLinesAfter(t testing.TB, cursor string, args ...string) []string {
	t.Helper()
	a := append([]string{"--no-pager", "-o", "json", "--output-fields=MESSAGE", "--after-cursor=" + cursor}, args...)
	out, err := exec.Command("journalctl", a...).Output()
	if err != nil {
		t.Fatalf("journalctl %v: %v", a, err)
	}
	var lines []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		msg, _ := m["MESSAGE"].(string) // the kernel's other messages are text
		lines = append(lines, strings.TrimSuffix(msg, "\n")+"|"+m["__CURSOR"].(string))
	}
	return lines
}

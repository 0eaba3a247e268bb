//go:build faults

package faults

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/journald/journaltest"
)

// injectSplitLagging writes lines that conmon splits into pieces while podexporter
// cannot deliver (so it falls behind), lets the container exit, and then lets
// podexporter catch up: every line arrives whole, once, although its container has
// long exited when its pieces are read.
func injectSplitLagging(m *matrix, r *rowRun) {
	const lines, longEvery, longBytes = 1001, 10, 20000
	name := "fm-" + m.run + "-" + r.spec.name + "x-split"
	m.col.Stop()
	time.Sleep(12 * time.Second) // the in-flight batches fill up: reading stops
	script := fmt.Sprintf(`BEGIN { s = "L"; while (length(s) < %d) s = s s; for (i = 1; i <= %d; i++) if (i %% %d == 0) print i ":" substr(s, 1, %d); else print "line " i }`,
		longBytes, lines, longEvery, longBytes)
	if out, err := m.podman("run", "--name", name, "--label", "podexporter-faults="+m.run, testenv.Image, "busybox", "awk", script); err != nil {
		m.t.Fatalf("run the split-line writer: %v: %s", err, out)
	}
	time.Sleep(3 * time.Second) // Podman and podexporter know it has exited
	m.col.Start()
	r.faultEnd = time.Now()
	r.written += lines

	long := strings.Repeat("L", longBytes)
	want := map[string]bool{}
	for i := 1; i <= lines; i++ {
		body := "line " + strconv.Itoa(i)
		if i%longEvery == 0 {
			body = strconv.Itoa(i) + ":" + long
		}
		want[name+"|"+body] = true
		r.extraKeys[name+"|"+body] = true
	}
	var whole, pieces int
	count := func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		whole, pieces = 0, 0
		for k, at := range m.arrivals {
			if !strings.HasPrefix(k, name+"|") {
				continue
			}
			if want[k] {
				whole++
			} else {
				pieces += len(at)
			}
		}
		return whole == lines
	}
	deadline := time.Now().Add(90 * time.Second)
	for !count() && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	r.recovery = time.Since(r.faultEnd)
	split, _ := exec.Command("journalctl", "-o", "cat", "CONTAINER_NAME="+name, "CONTAINER_PARTIAL_MESSAGE=true").Output()
	if whole != lines || pieces > 0 {
		r.fail("%d of %d lines arrived whole, %d records were pieces of a line", whole, lines, pieces)
	}
	r.note("%d lines, %d of them split by conmon (%d partial entries), read after the container exited: %d whole, %d pieces",
		lines, lines/longEvery, strings.Count(string(split), "\n"), whole, pieces)
}

// injectForeignCursor stops podexporter, puts a cursor of another journal (a
// journal-remote copy of this one: same entries, its own sequence-number id) in its
// state directory, and starts it again with --journal.start reaching just before the
// stop. The cursor must be recognised as foreign: no line of earlier rows shipped
// again, nothing of this row lost.
func injectForeignCursor(m *matrix, r *rowRun) {
	foreign := foreignCursor(m.t)
	old := m.d
	_ = old.cmd.Process.Signal(syscall.SIGTERM)
	<-old.done
	stopped := time.Now()
	if err := os.WriteFile(filepath.Join(m.state, "journal.cursor"), []byte(foreign+"\n"), 0o600); err != nil {
		m.t.Fatalf("write the foreign cursor: %v", err)
	}
	time.Sleep(2 * time.Second)
	// Back to half a second before the stop: the reader keeps up closer than that, so
	// nothing written since is missed, and what is read twice stays within a batch.
	back := (time.Since(stopped) + 500*time.Millisecond).Round(time.Millisecond)
	restarted := time.Now()
	m.startDaemon("--journal.start=" + back.String())
	r.faultEnd = time.Now()
	r.stayedUp = "stopped; restarted"
	if n := m.metric("podexporter_journal_cursor_foreign_total", nil); n != 1 {
		r.fail("podexporter_journal_cursor_foreign_total = %v after the restart, want 1", n)
	}
	time.Sleep(10 * time.Second) // the old journal would be re-shipping by now
	reshipped := 0
	m.mu.Lock()
	for k, at := range m.arrivals {
		if strings.HasPrefix(k, r.prefix) {
			continue
		}
		for _, a := range at {
			if a.After(restarted) {
				reshipped++
			}
		}
	}
	m.mu.Unlock()
	if reshipped > 0 {
		r.fail("%d lines of earlier rows shipped again after the restart", reshipped)
	}
	r.note("foreign cursor counted; restarted with --journal.start=%s; %d lines of earlier rows shipped again", back, reshipped)
}

// foreignCursor copies a few entries of this journal into a new journal file with
// systemd-journal-remote and returns the cursor of its last entry: well-formed, but
// of a sequence this host's journal never had.
func foreignCursor(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "foreign.journal")
	export, err := exec.Command("journalctl", "-n", "3", "-o", "export").Output()
	if err != nil {
		t.Fatalf("journalctl -o export: %v", err)
	}
	cmd := exec.Command(journaltest.JournalRemote, "-o", path, "-")
	cmd.Stdin = strings.NewReader(string(export))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-journal-remote: %v: %s", err, out)
	}
	out, err := exec.Command("journalctl", "--file", path, "-n", "1", "--show-cursor", "-q", "-o", "cat").Output()
	if err != nil {
		t.Fatalf("journalctl --file: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if c, ok := strings.CutPrefix(l, "-- cursor: "); ok {
			return c
		}
	}
	t.Fatalf("no cursor in %q", out)
	return ""
}

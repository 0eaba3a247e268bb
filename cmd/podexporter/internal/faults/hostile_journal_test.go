//go:build faults

package faults

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// journalCases are the rows about the journal: cursors and checkpoints that point
// where they should not, a journal nobody may read, lines cut inside a character.
var journalCases = []hostileCase{
	{"cursor-beyond-end", rowCursorBeyondEnd},
	{"read-beyond-tail", rowReadBeyondTail},
	{"cursor-before-start", rowCursorBeforeStart},
	{"cursor-not-selected", rowCursorNotSelected},
	{"line-cut-utf8", rowLineCutUTF8},
	{"journal-unreadable", rowJournalUnreadable},
}

// lastCursor is the cursor of the journal's newest entry, as journalctl says.
func lastCursor(h *hostile) string {
	out, err := exec.Command("journalctl", "-n", "1", "-o", "export").Output()
	if err != nil {
		h.t.Fatalf("journalctl: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if c, ok := strings.CutPrefix(l, "__CURSOR="); ok {
			return c
		}
	}
	h.t.Fatal("journalctl printed no cursor")
	return ""
}

// cursorField returns one k=v field of a cursor.
func cursorField(cursor, k string) string {
	for _, p := range strings.Split(cursor, ";") {
		if v, ok := strings.CutPrefix(p, k+"="); ok {
			return v
		}
	}
	return ""
}

// withCheckpoint starts podexporter on a state directory whose journal.cursor holds
// text, reading the containers named prefix... to the Collector.
func (h *hostile) withCheckpoint(r *hrow, text, prefix string, extra ...string) (*daemon, string) {
	state, err := os.MkdirTemp("", "podexporter-hostile-state-")
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { os.RemoveAll(state) })
	if text != "" {
		if err := os.WriteFile(filepath.Join(state, "journal.cursor"), []byte(text+"\n"), 0o600); err != nil {
			h.t.Fatal(err)
		}
	}
	args := append([]string{"--podman.socket=" + h.p.Socket, "--otlp.endpoint=http://" + h.col.GRPCEndpoint, "--otlp.protocol=grpc",
		"--journal.start=tail", "--journal.include-container=^" + prefix}, extra...)
	return h.startIn(r, state, runOpts{args: args}), state
}

// lines starts a container that writes n numbered lines, and returns its name.
func (h *hostile) lines(name string, n int) {
	h.p.Run(h.t, name, nil, "sh", "-c", fmt.Sprintf("for i in $(seq 1 %d); do echo %s-line-$i; done; sleep 600", n, name))
}

// delivered counts the distinct lines of container name that reached the Collector,
// waiting up to 20 s for want of them.
func (h *hostile) delivered(name string, want int) (distinct, total int) {
	waitFor(20*time.Second, func() bool {
		seen := map[string]bool{}
		total = 0
		for _, rec := range h.col.Logs() {
			if rec.Resource["container.name"] == name && strings.HasPrefix(rec.Body, name+"-line-") {
				seen[rec.Body] = true
				total++
			}
		}
		distinct = len(seen)
		return distinct >= want
	})
	return distinct, total
}

// mismatch reads podexporter_journal_checkpoint_mismatches_total for one reason.
func mismatch(d *daemon, reason string) float64 {
	if d.metricOr("podexporter_journal_checkpoint_mismatches_total") < 0 {
		return -1
	}
	v, err := d.scrape("podexporter_journal_checkpoint_mismatches_total", map[string]string{"reason": reason})
	if err != nil {
		return -1
	}
	return v
}

// rowCursorBeyondEnd: issue 19's stuck reader.
func rowCursorBeyondEnd(h *hostile, r *hrow) {
	r.Case = "a saved cursor of this journal's sequence but past its end (i=ffffffffff: a journal restored from an older copy than the state volume), with --journal.include-container"
	r.Does = "logs it once, counts it (cursor_beyond_tail) and resumes at the first entry written after the cursor's time: new lines are delivered"
	cur := lastCursor(h)
	t := time.Now().Add(-time.Second).UnixMicro()
	cursor := fmt.Sprintf("s=%s;i=ffffffffff;b=%s;m=1;t=%x;x=0", cursorField(cur, "s"), cursorField(cur, "b"), t)
	prefix := "hi-" + h.run + "-beyond-"
	d, _ := h.withCheckpoint(r, cursor, prefix)
	h.lines(prefix+"c", 5)
	got, total := h.delivered(prefix+"c", 5)
	n, warned := mismatch(d, "cursor_beyond_tail"), d.log.matching("past the end of the journal")
	if got != 5 || total != 5 || n != 1 || warned != 1 {
		r.fail("%d of 5 lines delivered (%d records), cursor_beyond_tail %v, %d warnings", got, total, n, warned)
	}
	r.see("%d of 5 lines delivered once, cursor_beyond_tail %v, %d warning", got, n, warned)
}

// rowReadBeyondTail: issue 19's skip-everything checkpoint.
func rowReadBeyondTail(h *hostile, r *hrow) {
	r.Case = "a valid cursor followed by a checkpoint read line beyond the journal's tail"
	r.Does = "drops the read line (logged once, counted as read_beyond_tail) and delivers every entry after the cursor"
	cur := lastCursor(h)
	prefix := "hi-" + h.run + "-read-"
	d, _ := h.withCheckpoint(r, cur+"\nread "+cursorField(cur, "s")+" ffffffffff", prefix)
	h.lines(prefix+"c", 5)
	got, total := h.delivered(prefix+"c", 5)
	n := mismatch(d, "read_beyond_tail")
	if got != 5 || total != 5 || n != 1 {
		r.fail("%d of 5 lines delivered (%d records), read_beyond_tail %v", got, total, n)
	}
	r.see("%d of 5 lines delivered once, read_beyond_tail %v", got, n)
}

// rowCursorBeforeStart: a cursor older than anything the journal holds.
func rowCursorBeforeStart(h *hostile, r *hrow) {
	r.Case = "a saved cursor before the journal's start (its entry vacuumed: i=0 of this journal's sequence)"
	r.Does = "resumes at the oldest entry the journal holds, counts the gap and logs it once; nothing after the cursor is skipped"
	cur := lastCursor(h)
	cursor := fmt.Sprintf("s=%s;i=0;b=%s;m=1;t=1;x=0", cursorField(cur, "s"), cursorField(cur, "b"))
	prefix := "hi-" + h.run + "-before-"
	d, _ := h.withCheckpoint(r, cursor, prefix)
	h.lines(prefix+"c", 5)
	got, total := h.delivered(prefix+"c", 5)
	gaps := d.metricOr("podexporter_journal_gaps_total")
	if got != 5 || total != 5 || gaps < 1 {
		r.fail("%d of 5 lines delivered (%d records), gaps %v", got, total, gaps)
	}
	r.see("%d of 5 lines delivered once, gap counted (%v)", got, gaps)
}

// rowCursorNotSelected: the filters changed between two runs.
func rowCursorNotSelected(h *hostile, r *hrow) {
	r.Case = "a saved cursor whose entry is still there but no longer selected (--journal.include-container changed between runs)"
	r.Does = "says so at info (cursor_not_selected), counts no gap and resumes at the next entry the new filter selects"
	prefix := "hi-" + h.run + "-sel-"
	d, state := h.withCheckpoint(r, "", prefix+"a")
	h.lines(prefix+"a", 3)
	if got, _ := h.delivered(prefix+"a", 3); got != 3 {
		r.fail("first run: %d of 3 lines delivered", got)
		return
	}
	// The cursor is saved once the Collector took the batch.
	if !waitFor(10*time.Second, func() bool { return d.metricOr("podexporter_journal_cursor_commits_total") >= 1 }) {
		r.fail("first run saved no cursor")
	}
	d.stop()
	d2 := h.startIn(r, state, runOpts{args: []string{"--podman.socket=" + h.p.Socket, "--otlp.endpoint=http://" + h.col.GRPCEndpoint, "--otlp.protocol=grpc",
		"--journal.start=tail", "--journal.include-container=^" + prefix + "b"}})
	h.lines(prefix+"b", 3)
	got, total := h.delivered(prefix+"b", 3)
	n, gaps, gone := mismatch(d2, "cursor_not_selected"), d2.metricOr("podexporter_journal_gaps_total"), d2.log.matching("vacuumed")
	if got != 3 || total != 3 || n != 1 || gaps != 0 || gone != 0 {
		r.fail("%d of 3 lines delivered (%d records), cursor_not_selected %v, gaps %v, %d \"vacuumed\" warnings; log: %s", got, total, n, gaps, gone, strings.Join(d2.log.all(), " / "))
	}
	r.see("%d of 3 lines of the newly selected container delivered once, cursor_not_selected %v, gaps %v, no \"vacuumed\" warning", got, n, gaps)
}

// rowLineCutUTF8: --journal.max-line-bytes falls inside a character.
func rowLineCutUTF8(h *hostile, r *hrow) {
	r.Case = "--journal.max-line-bytes=1024 falling inside \"é\" (a line of 1023 A, é, then more)"
	r.Does = "cuts before the character: the OTLP body stays a string of 1023 bytes, marked log.truncated"
	prefix := "hi-" + h.run + "-cut-"
	d, _ := h.withCheckpoint(r, "", prefix, "--journal.max-line-bytes=1024")
	name := prefix + "c"
	h.p.Run(h.t, name, nil, "sh", "-c", "printf '%01023dé%s\\n' 0 BBBB | tr 0 A; echo "+name+"-line-end; sleep 600")
	var body any
	var truncated any
	waitFor(20*time.Second, func() bool {
		for _, rec := range h.col.Logs() {
			if rec.Resource["container.name"] == name && strings.HasPrefix(rec.Body, "AAAA") {
				body, truncated = rec.BodyValue, rec.Attributes["log.truncated"]
				return true
			}
		}
		return false
	})
	s, isString := body.(string)
	if !isString || s != strings.Repeat("A", 1023) || truncated != true {
		r.fail("body %T of %d bytes, log.truncated %v", body, len(s), truncated)
	}
	if d.exited() {
		r.fail("podexporter exited: %v", d.err)
	}
	r.see("body a string of %d bytes, log.truncated %v", len(s), truncated)
}

// rowJournalUnreadable: podexporter's user may not read the journal files.
func rowJournalUnreadable(h *hostile, r *hrow) {
	r.Case = "a journal readable by nobody: podexporter run as user nobody, the files root:systemd-journal 0640"
	r.Does = "doctor says FAIL with the fix (group systemd-journal); the daemon keeps serving, sets podexporter_journal_unreadable 1 and logs it once"
	cmd := exec.Command(h.bin, "doctor", "--journal.sink=jsonl", "--journal.output=/dev/null", "--podman.socket=unix:///nonexistent.sock")
	uid, gid := lookupUser(h.t, "nobody")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	out, err := cmd.CombinedOutput()
	var journalLine string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "journal /var/log/journal") || strings.Contains(l, "journal /run/log/journal") {
			journalLine = l
			if strings.Contains(l, "FAIL") {
				break
			}
		}
	}
	if err == nil || !strings.Contains(journalLine, "FAIL") || !strings.Contains(string(out), "systemd-journal") {
		r.fail("doctor as nobody: %v, journal line %q", err, journalLine)
	}
	d := h.start(r, runOpts{user: "nobody", args: []string{"--journal.sink=jsonl", "--journal.output=-", "--podman.socket=" + h.p.Socket}})
	if !waitFor(10*time.Second, func() bool { return d.metricOr("podexporter_journal_unreadable") == 1 }) {
		r.fail("podexporter_journal_unreadable is %v", d.metricOr("podexporter_journal_unreadable"))
	}
	time.Sleep(2 * time.Second)
	warned := d.log.matching("cannot read any journal file")
	if warned != 1 || d.exited() {
		r.fail("%d warnings about it, exited %v", warned, d.exited())
	}
	r.see("doctor: %q; daemon up, podexporter_journal_unreadable 1, %d warning", strings.TrimSpace(cutAt(journalLine, 120)), warned)
}

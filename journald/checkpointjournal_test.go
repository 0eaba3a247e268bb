package journald

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/journald/journalstat"
	"github.com/podexporter/podexporter/journald/journaltest"
)

// captureLog makes cfg's reader log into the returned buffer.
func captureLog(cfg *Config) *testenv.SyncBuffer {
	lb := &testenv.SyncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return lb
}

// refEntry is one entry as journalctl prints it.
type refEntry struct {
	line     string // "MESSAGE without its newline|cursor", as recordLines gives
	realtime uint64
}

// journalctlEntries is what journalctl prints of the journal files in dir for args,
// with each entry's receive time: the independent reference.
func journalctlEntries(t testing.TB, dir string, args ...string) []refEntry {
	t.Helper()
	out, err := exec.Command("journalctl", append([]string{"-D", dir, "-o", "json", "--output-fields=MESSAGE", "--no-pager"}, args...)...).Output()
	if err != nil {
		t.Fatalf("journalctl -D %s %v: %v", dir, args, err)
	}
	var es []refEntry
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		// journalctl prints a message that is not valid UTF-8 as an array of bytes.
		var msg string
		switch v := m["MESSAGE"].(type) {
		case string:
			msg = v
		case []any:
			b := make([]byte, len(v))
			for i, n := range v {
				f, _ := n.(float64)
				b[i] = byte(f)
			}
			msg = string(b)
		}
		cursor, _ := m["__CURSOR"].(string)
		rt, err := strconv.ParseUint(fmt.Sprint(m["__REALTIME_TIMESTAMP"]), 10, 64)
		if err != nil {
			t.Fatalf("journalctl printed __REALTIME_TIMESTAMP %v: %v", m["__REALTIME_TIMESTAMP"], err)
		}
		es = append(es, refEntry{strings.TrimSuffix(msg, "\n") + "|" + cursor, rt})
	}
	return es
}

func refLines(es []refEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.line
	}
	return out
}

func cursorOf(line string) string { return line[strings.LastIndex(line, "|")+1:] }

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// webDB is entries from..to of a journal where web and db take turns, every third
// on stderr (priority 3).
func webDB(from, to int) []entry {
	var es []entry
	for i := from; i <= to; i++ {
		name := []string{"web", "db"}[i%2]
		msg := fmt.Sprintf("%s %d", name, i)
		if i%3 == 0 {
			msg += "!"
		}
		es = append(es, line(i, name, msg))
	}
	return es
}

// withSeqnum replaces the sequence number in a cursor.
func withSeqnum(cursor, hex string) string {
	return regexp.MustCompile(`;i=[0-9a-f]+;`).ReplaceAllString(cursor, ";i="+hex+";")
}

// TestCursorBeyondTail: the journal was restored from a snapshot taken before the
// entry the saved cursor names, and journald went on numbering from the snapshot's
// end: the cursor has the journal's own sequence-number id but a sequence number
// past its end. The entries written after the cursor's time are new and must all be
// delivered (with and without name matches), the cursor must move on, and the case
// must be logged and counted; journalctl's entries after that time are the
// reference.
func TestCursorBeyondTail(t *testing.T) {
	tmp := t.TempDir()
	snap := filepath.Join(tmp, "snapshot.journal")
	journaltest.WriteJournal(t, snap, exportFrom(webDB(0, 5), 0))
	// What the daemon read before the journal was restored: eight entries more.
	before := filepath.Join(tmp, "before.journal")
	copyFile(t, snap, before)
	journaltest.WriteJournal(t, before, exportFrom(webDB(6, 13), 6))
	lastDelivered := journalctlCursors(t, before)[13]
	// The restored journal, and the six entries journald wrote to it since.
	dir := t.TempDir()
	restored := filepath.Join(dir, "system.journal")
	copyFile(t, snap, restored)
	journaltest.WriteJournal(t, restored, exportFrom(webDB(14, 19), 14))
	all := journalctlEntries(t, dir)
	id, seq, _ := cursorSeqnum(lastDelivered)
	if tid, tseq, _ := cursorSeqnum(cursorOf(all[len(all)-1].line)); tid != id || tseq >= seq {
		t.Fatalf("the restored journal ends at %s %d; the fixture needs the saved cursor's series %s past it (%d)", tid, tseq, id, seq)
	}
	// The cursor: the journal's own id, i=ffffffffff, the time of its ninth
	// entry.
	farCursor := withSeqnum(cursorOf(all[8].line), "ffffffffff")

	after := func(cursor string, es []refEntry) []string {
		usec, _ := cursorRealtime(cursor)
		var out []string
		for _, e := range es {
			if e.realtime > usec {
				out = append(out, e.line)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name, cursor string
		include      *regexp.Regexp
		ref          []string
	}{
		{"restored snapshot, include-container", lastDelivered, regexp.MustCompile("^web$"), []string{"CONTAINER_NAME=web"}},
		{"restored snapshot, no filter", lastDelivered, nil, nil},
		{"i=ffffffffff, include-container", farCursor, regexp.MustCompile("^db$"), []string{"CONTAINER_NAME=db"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := after(tc.cursor, journalctlEntries(t, dir, tc.ref...))
			if len(want) == 0 {
				t.Fatal("nothing after the cursor's time: the fixture tests nothing")
			}
			cp := NewCheckpoint(filepath.Join(t.TempDir(), "journal.cursor"))
			if err := cp.Save(tc.cursor); err != nil {
				t.Fatal(err)
			}
			cfg := Config{Directory: dir, Start: StartTail, IncludeContainer: tc.include, Checkpoint: cp, PartialTimeout: 20 * time.Millisecond}
			logs := captureLog(&cfg)
			got, r := runReader(t, cfg, len(want))
			if g := recordLines(got); !slices.Equal(g, want) {
				t.Fatalf("delivered\n%s\njournalctl's entries after the cursor's time are\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
			}
			s := r.Stats()
			if n := mismatches(s, journalstat.MismatchCursorBeyondTail); n != 1 || s.Gaps != 0 {
				t.Errorf("cursors beyond the tail %d, gaps %d; want 1 and 0", n, s.Gaps)
			}
			if !strings.Contains(logs.String(), "saved journal cursor is past the end of the journal") {
				t.Errorf("not logged:\n%s", logs)
			}
			// The cursor moved: a restart delivers nothing again.
			if saved, err := cp.Load(); err != nil || saved != cursorOf(want[len(want)-1]) {
				t.Errorf("saved %q (%v), want the last delivered entry's cursor", saved, err)
			}
			runReader(t, cfg, 0)
		})
	}
}

func mismatches(s journalstat.Stats, reason string) uint64 {
	for _, m := range s.CheckpointMismatches {
		if m.Reason == reason {
			return m.Count
		}
	}
	return 0
}

// TestCheckpointReadLine: a checkpoint's read line that cannot belong with its cursor
// (past the journal's end, or of another sequence) is dropped, logged and counted,
// and reading resumes right after the cursor, as journalctl --after-cursor does; one
// that fits still skips what it says was delivered.
func TestCheckpointReadLine(t *testing.T) {
	var es []entry
	for i := range 6 {
		es = append(es, conmonEntry(i, "web", idWeb, fmt.Sprintf("line %d\n", i), "6"))
	}
	path := buildJournal(t, es)
	dir := filepath.Dir(path)
	cursors := journalctlCursors(t, path)
	id, first, _ := cursorSeqnum(cursors[0])
	other := mustSeqnumID(t, buildJournal(t, es[:1]))
	afterFirst := refLines(journalctlEntries(t, dir, "--after-cursor="+cursors[0]))
	afterThird := refLines(journalctlEntries(t, dir, "--after-cursor="+cursors[2]))
	for _, tc := range []struct {
		name, text string
		want       []string
		reason     string
	}{
		{"read past the end", fmt.Sprintf("%s\nread %s ffffffff", cursors[0], id), afterFirst, journalstat.MismatchReadBeyondTail},
		{"read past the end, a line open", fmt.Sprintf("%s\nread %s ffffffff\nopen 6 %x %s", cursors[0], id, first+1, idWeb), afterFirst, journalstat.MismatchReadBeyondTail},
		{"read of another sequence", fmt.Sprintf("%s\nread %s %x", cursors[0], other, first+2), afterFirst, journalstat.MismatchReadOtherSequence},
		{"read within the journal", fmt.Sprintf("%s\nread %s %x", cursors[0], id, first+2), afterThird, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "journal.cursor")
			if err := os.WriteFile(p, []byte(tc.text+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := Config{Directory: dir, Start: StartHead, Checkpoint: NewCheckpoint(p), PartialTimeout: 20 * time.Millisecond}
			logs := captureLog(&cfg)
			got, r := runReader(t, cfg, len(tc.want))
			if g := recordLines(got); !slices.Equal(g, tc.want) {
				t.Fatalf("delivered\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(tc.want, "\n"))
			}
			s := r.Stats()
			for _, reason := range []string{journalstat.MismatchReadBeyondTail, journalstat.MismatchReadOtherSequence} {
				want := uint64(0)
				if reason == tc.reason {
					want = 1
				}
				if n := mismatches(s, reason); n != want {
					t.Errorf("%s counted %d, want %d", reason, n, want)
				}
			}
			if s.Gaps != 0 {
				t.Errorf("%d gaps counted", s.Gaps)
			}
			dropped := strings.Count(logs.String(), "journal checkpoint's read line does not fit its cursor")
			if (tc.reason != "") != (dropped == 1) {
				t.Errorf("logged the dropped read line %d times:\n%s", dropped, logs)
			}
		})
	}
}

// TestCursorNotSelected: the saved cursor's entry is still in the journal, but the
// filters changed and the journal matches no longer select it. That is no gap: it
// is logged at info, counted as such, and reading resumes at the next entry the
// filters select: journalctl's entries for the same matches after the cursor's
// sequence number. A cursor whose entry was vacuumed, with the same filters, is
// still a gap.
func TestCursorNotSelected(t *testing.T) {
	path := buildJournal(t, webDB(0, 9))
	dir := filepath.Dir(path)
	cursors := journalctlCursors(t, path)
	three := 3
	vacuumed := withSeqnum(cursors[0], "0")
	for _, tc := range []struct {
		name, cursor string
		cfg          Config
		ref          []string
		notSelected  uint64
		gaps         uint64
	}{
		{"include another container", cursors[5], Config{IncludeContainer: regexp.MustCompile("^web$")}, []string{"CONTAINER_NAME=web"}, 1, 0},
		{"priority cap", cursors[5], Config{MaxPriority: &three}, []string{"-p", "3"}, 1, 0},
		{"vacuumed, include", vacuumed, Config{IncludeContainer: regexp.MustCompile("^web$")}, []string{"CONTAINER_NAME=web"}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// journalctl --after-cursor is no reference here: it skips one entry
			// after seeking, taking the cursor's own entry to be selected.
			var want []string
			_, saved, _ := cursorSeqnum(tc.cursor)
			for _, e := range journalctlEntries(t, dir, tc.ref...) {
				if _, s, _ := cursorSeqnum(cursorOf(e.line)); s > saved {
					want = append(want, e.line)
				}
			}
			if len(want) == 0 {
				t.Fatal("journalctl selects nothing: the fixture tests nothing")
			}
			cp := NewCheckpoint(filepath.Join(t.TempDir(), "journal.cursor"))
			if err := cp.Save(tc.cursor); err != nil {
				t.Fatal(err)
			}
			cfg := tc.cfg
			cfg.Directory, cfg.Start, cfg.Checkpoint, cfg.PartialTimeout = dir, StartTail, cp, 20*time.Millisecond
			logs := captureLog(&cfg)
			got, r := runReader(t, cfg, len(want))
			if g := recordLines(got); !slices.Equal(g, want) {
				t.Fatalf("delivered\n%s\njournalctl %v prints\n%s", strings.Join(g, "\n"), tc.ref, strings.Join(want, "\n"))
			}
			s := r.Stats()
			if n := mismatches(s, journalstat.MismatchCursorNotSelected); n != tc.notSelected || s.Gaps != tc.gaps {
				t.Errorf("not selected %d, gaps %d; want %d and %d", n, s.Gaps, tc.notSelected, tc.gaps)
			}
			l := logs.String()
			if vac := strings.Contains(l, "vacuumed"); vac != (tc.gaps > 0) {
				t.Errorf("logged vacuumed: %v, want %v:\n%s", vac, tc.gaps > 0, l)
			}
			if tc.notSelected > 0 && !strings.Contains(l, `level=INFO msg="saved journal cursor's entry is not selected by the current filters`) {
				t.Errorf("not logged at info:\n%s", l)
			}
		})
	}
}

// TestCursorOtherBoot: a cursor saved during the previous boot (the same journal,
// so the same sequence-number id) resumes right after its entry, in the next boot's
// entries too: nothing lost or delivered twice, as journalctl --after-cursor says.
func TestCursorOtherBoot(t *testing.T) {
	es := webDB(0, 9)
	for i := 5; i < len(es); i++ {
		es[i].boot = bootB
	}
	// The second boot's monotonic clock starts again near zero (1000005.. become
	// 25..).
	export := append(exportFrom(es[:5], 0), bytes.ReplaceAll(exportFrom(es[5:], 5), []byte("__MONOTONIC_TIMESTAMP=100000"), []byte("__MONOTONIC_TIMESTAMP=2"))...)
	path := filepath.Join(t.TempDir(), "system.journal")
	journaltest.WriteJournal(t, path, export)
	dir := filepath.Dir(path)
	cursors := journalctlCursors(t, path)
	if !strings.Contains(cursors[4], "b="+bootA) || !strings.Contains(cursors[5], "b="+bootB) {
		t.Fatalf("the fixture's boots: %s, %s", cursors[4], cursors[5])
	}
	for _, tc := range []struct {
		name, cursor string
		include      *regexp.Regexp
		ref          []string
	}{
		{"last entry of the previous boot", cursors[4], nil, nil},
		{"an entry of the previous boot, include-container", cursors[2], regexp.MustCompile("^web$"), []string{"CONTAINER_NAME=web"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := refLines(journalctlEntries(t, dir, append([]string{"--after-cursor=" + tc.cursor}, tc.ref...)...))
			cp := NewCheckpoint(filepath.Join(t.TempDir(), "journal.cursor"))
			if err := cp.Save(tc.cursor); err != nil {
				t.Fatal(err)
			}
			got, r := runReader(t, Config{Directory: dir, Start: StartTail, IncludeContainer: tc.include, Checkpoint: cp, PartialTimeout: 20 * time.Millisecond}, len(want))
			if g := recordLines(got); !slices.Equal(g, want) {
				t.Fatalf("delivered\n%s\njournalctl --after-cursor prints\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
			}
			if s := r.Stats(); s.Gaps != 0 || s.ForeignCursors != 0 {
				t.Errorf("gaps %d, foreign cursors %d; want none", s.Gaps, s.ForeignCursors)
			}
		})
	}
}

package journald

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/logrecord"
)

const (
	idWeb = "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111"
	idDB  = "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222"
)

// fixtureMix holds everything the hermetic tests need, in one journal file.
func fixtureMix() []entry {
	big := strings.Repeat("0123456789abcdef", 2<<20/16) // 2 MiB
	es := []entry{
		conmonEntry(0, "web", idWeb, "hello stdout\n", "6"),
		conmonEntry(1, "web", idWeb, "oops stderr\n", "3"),
		// A line conmon split in three, interleaved with another container's line.
		conmonEntry(2, "db", idDB, "part one ", "6", [2]string{"CONTAINER_PARTIAL_MESSAGE", "true"}),
		conmonEntry(3, "web", idWeb, "between\n", "6"),
		conmonEntry(4, "db", idDB, "part two ", "6", [2]string{"CONTAINER_PARTIAL_MESSAGE", "true"}),
		conmonEntry(5, "db", idDB, "part three\n", "6"),
		conmonEntry(6, "web", idWeb, "bad \xff\xfe utf8\n", "6"),
		conmonEntry(7, "web", idWeb, "bin\x00ary\n", "6"),
		conmonEntry(8, "web", idWeb, big+"\n", "6"),
		// conmon's own message, not a container line.
		{realtime: fixtureStart.Add(9 * time.Millisecond), boot: bootA, fields: [][2]string{{"_COMM", "conmon"}, {"MESSAGE", "conmon 1234 <ninfo>: exited"}, {"PRIORITY", "6"}}},
		// Missing fields: no PRIORITY, no _SOURCE_REALTIME_TIMESTAMP, no name.
		{realtime: fixtureStart.Add(10 * time.Millisecond), boot: bootB, fields: [][2]string{{"_COMM", "conmon"}, {"CONTAINER_ID", "cccccccccccc"}, {"MESSAGE", "bare"}}},
		// A unit's own message, read only when the unit is selected.
		{realtime: fixtureStart.Add(11 * time.Millisecond), boot: bootB, fields: [][2]string{{"_COMM", "systemd"}, {"_SYSTEMD_UNIT", "web.service"}, {"PRIORITY", "5"}, {"MESSAGE", "Started web.service."}}},
		// A final line without newline: flagged partial, and no piece says last.
		conmonEntry(12, "db", idDB, "no newline at end", "6", [2]string{"CONTAINER_PARTIAL_MESSAGE", "true"}),
	}
	// The second boot.
	for i := 10; i < len(es); i++ {
		es[i].boot = bootB
		for j, f := range es[i].fields {
			if f[0] == "_BOOT_ID" {
				es[i].fields[j][1] = bootB
			}
		}
	}
	return es
}

func TestReadFixture(t *testing.T) {
	path := buildJournal(t, fixtureMix())
	cursors := journalctlCursors(t, path)
	big := strings.Repeat("0123456789abcdef", 2<<20/16)
	got, r := runReader(t, Config{Files: []string{path}, Start: StartHead, Units: []string{"web.service"}, MaxLineBytes: 4 << 20, PartialTimeout: 50 * time.Millisecond}, 10)

	type want struct {
		body, name, stream, boot string
		prio                     int
		sev                      logrecord.Severity
		cursor                   int // index of the (last piece's) entry in journalctl's order
		pieces                   int
		sourceTime               bool
	}
	wants := []want{
		{"hello stdout", "web", "stdout", bootA, 6, 9, 0, 1, true},
		{"oops stderr", "web", "stderr", bootA, 3, 17, 1, 1, true},
		{"between", "web", "stdout", bootA, 6, 9, 3, 1, true},
		{"part one part two part three", "db", "stdout", bootA, 6, 9, 5, 3, true},
		{"bad \xff\xfe utf8", "web", "stdout", bootA, 6, 9, 6, 1, true},
		{"bin\x00ary", "web", "stdout", bootA, 6, 9, 7, 1, true},
		{big, "web", "stdout", bootA, 6, 9, 8, 1, true},
		{"bare", "", "", bootB, -1, 0, 10, 1, false},
		{"Started web.service.", "", "", bootB, 5, 10, 11, 1, false},
		{"no newline at end", "db", "stdout", bootB, 6, 9, 12, 1, true},
	}
	// Journal order; the line without newline comes last, flushed on its timeout.
	for i, w := range wants {
		g := got[i]
		if g.Body != w.body {
			t.Errorf("record %d: body %.40q (len %d), want %.40q (len %d)", i, g.Body, len(g.Body), w.body, len(w.body))
		}
		if g.ContainerName != w.name || g.Stream != w.stream || g.BootID != w.boot || g.Priority != w.prio || g.Severity != w.sev {
			t.Errorf("record %d: name %q stream %q boot %q prio %d sev %d; want %q %q %q %d %d", i, g.ContainerName, g.Stream, g.BootID, g.Priority, g.Severity, w.name, w.stream, w.boot, w.prio, w.sev)
		}
		if g.Cursor != cursors[w.cursor] {
			t.Errorf("record %d: cursor %q, journalctl says %q", i, g.Cursor, cursors[w.cursor])
		}
		if g.Pieces != w.pieces {
			t.Errorf("record %d: %d pieces, want %d", i, g.Pieces, w.pieces)
		}
		// A joined line's time is its first piece's.
		first := w.cursor
		if w.pieces == 3 {
			first = 2
		}
		wantTime := fixtureStart.Add(time.Duration(first) * time.Millisecond)
		if w.sourceTime {
			wantTime = wantTime.Add(-300 * time.Microsecond)
		}
		if !g.Time.Equal(wantTime) {
			t.Errorf("record %d: time %s, want %s", i, g.Time, wantTime)
		}
	}
	if g := got[0]; g.ContainerID != idWeb[:12] || g.ContainerIDFull != idWeb || g.Hostname != "fixturehost" || g.Identifier != "web" {
		t.Errorf("container fields: %+v", g)
	}
	s := r.Stats()
	if s.EntriesRead != 13 {
		t.Errorf("entries read %d, want all 13", s.EntriesRead)
	}
	if s.PartialJoined != 1 || s.LinesCut != 0 {
		t.Errorf("joined %d cut %d, want 1 0", s.PartialJoined, s.LinesCut)
	}
}

func TestFixtureFilters(t *testing.T) {
	path := buildJournal(t, fixtureMix())
	two := 3
	tests := []struct {
		name  string
		cfg   Config
		want  []string // bodies, truncated to 20 bytes
		joins uint64
		cuts  uint64
	}{
		{"include db", Config{IncludeContainer: regexp.MustCompile("^db$")}, []string{"part one part two pa", "no newline at end"}, 1, 0},
		{"exclude web", Config{ExcludeContainer: regexp.MustCompile("^w")}, []string{"part one part two pa", "bare", "no newline at end"}, 1, 0},
		{"errors only, as journalctl -p 2..3 would", Config{MaxPriority: &two}, []string{"oops stderr"}, 0, 0},
		{"cut at 10 bytes", Config{IncludeContainer: regexp.MustCompile("^db$"), MaxLineBytes: 10}, []string{"part one p", "no newline"}, 1, 2},
		{"cut 2 MiB at 1 MiB", Config{IncludeContainer: regexp.MustCompile("^web$"), MaxLineBytes: 1 << 20}, []string{"hello stdout", "oops stderr", "between", "bad \xff\xfe utf8", "bin\x00ary", "0123456789abcdef0123"}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Files, cfg.Start, cfg.PartialTimeout = []string{path}, StartHead, 30*time.Millisecond
			got, r := runReader(t, cfg, len(tc.want))
			for i, g := range got {
				b := g.Body
				if len(b) > 20 {
					b = b[:20]
				}
				if b != tc.want[i] {
					t.Errorf("record %d: %q, want %q", i, b, tc.want[i])
				}
			}
			if s := r.Stats(); s.PartialJoined != tc.joins || s.LinesCut != tc.cuts {
				t.Errorf("joined %d cut %d, want %d %d", s.PartialJoined, s.LinesCut, tc.joins, tc.cuts)
			}
			if tc.cfg.MaxLineBytes == 1<<20 && len(got[5].Body) != 1<<20 || (tc.cfg.MaxLineBytes == 1<<20 && !got[5].Truncated) {
				t.Errorf("2 MiB line: %d bytes, truncated %v; want %d, true", len(got[5].Body), got[5].Truncated, 1<<20)
			}
		})
	}
}

// TestResumeFixture reads a journal in two runs with one checkpoint: the second
// run must deliver only what the first did not, and a joined line's cursor must
// let the second run start after the whole line.
func TestResumeFixture(t *testing.T) {
	dir := t.TempDir()
	var es []entry
	for i := range 20 {
		es = append(es, conmonEntry(i, "web", idWeb, "line "+string(rune('a'+i))+"\n", "6"))
	}
	path := buildJournal(t, es)
	cp := NewCheckpoint(filepath.Join(dir, "cursor"))
	cfg := Config{Files: []string{path}, Start: StartHead, Checkpoint: cp, PartialTimeout: 20 * time.Millisecond}

	got, _ := runReader(t, cfg, 20)
	cursors := journalctlCursors(t, path)
	saved, err := cp.Load()
	if err != nil || saved != cursors[19] {
		t.Fatalf("saved cursor %q (%v), want the last entry's %q", saved, err, cursors[19])
	}
	if got[19].Body != "line t" {
		t.Fatalf("last body %q", got[19].Body)
	}
	// Nothing new: the second run must deliver nothing.
	runReader(t, cfg, 0)

	// Point the checkpoint at entry 9: the next run starts at entry 10.
	if err := cp.Save(cursors[9]); err != nil {
		t.Fatal(err)
	}
	got, _ = runReader(t, cfg, 10)
	if got[0].Body != "line k" || got[0].Cursor != cursors[10] {
		t.Fatalf("resumed at %q (%s), want line k (%s)", got[0].Body, got[0].Cursor, cursors[10])
	}
}

// TestCheckpointUnusable covers a garbage checkpoint file, a cursor from another
// journal (its sequence-number id is in no file: start per the setting, count it as
// foreign, not as a gap) and a cursor whose entry was vacuumed (a known id with an
// older sequence number: resume at the oldest entry and count the gap), with real
// journal files.
func TestCheckpointUnusable(t *testing.T) {
	var es []entry
	for i := range 5 {
		es = append(es, conmonEntry(i, "web", idWeb, "x\n", "6"))
	}
	path := buildJournal(t, es)
	other := buildJournal(t, es[:1])
	foreign := journalctlCursors(t, other)[0]
	if id1, _, _ := cursorSeqnum(foreign); id1 == mustSeqnumID(t, path) {
		t.Fatalf("the two fixture journals share the sequence-number id %s", id1)
	}
	// The file's first entry has sequence number 1: a cursor of the same series at 0
	// names an entry that was vacuumed.
	vacuumed := regexp.MustCompile(`;i=[0-9a-f]+;`).ReplaceAllString(journalctlCursors(t, path)[0], ";i=0;")
	tests := []struct {
		name, content       string
		start               StartMode
		want                int
		gaps, foreignCounts uint64
	}{
		{"garbage", "not a cursor at all\n", StartHead, 5, 1, 0},
		{"foreign journal, start head", foreign + "\n", StartHead, 5, 0, 1},
		{"foreign journal, start tail", foreign + "\n", StartTail, 0, 0, 1},
		{"vacuumed entry, start tail", vacuumed + "\n", StartTail, 5, 1, 0},
		{"empty", "", StartHead, 5, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "cursor")
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, r := runReader(t, Config{Files: []string{path}, Start: tc.start, Checkpoint: NewCheckpoint(p), PartialTimeout: 20 * time.Millisecond}, tc.want)
			if s := r.Stats(); s.Gaps != tc.gaps || s.ForeignCursors != tc.foreignCounts {
				t.Errorf("gaps %d, foreign cursors %d; want %d and %d", s.Gaps, s.ForeignCursors, tc.gaps, tc.foreignCounts)
			}
		})
	}
}

func mustSeqnumID(t *testing.T, path string) string {
	t.Helper()
	h, err := readFileHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	return h.seqnumID
}

// TestCheckpointUnsaveable: a cursor that cannot be saved (state directory gone,
// full or read-only) stops no delivery; it is counted, and saving resumes.
func TestCheckpointUnsaveable(t *testing.T) {
	var es []entry
	for i := range 30 {
		es = append(es, conmonEntry(i, "web", idWeb, fmt.Sprintf("line %d\n", i), "6"))
	}
	path := buildJournal(t, es)
	state := filepath.Join(t.TempDir(), "state")
	cp := NewCheckpoint(filepath.Join(state, "cursor"))
	cfg := Config{Files: []string{path}, Start: StartHead, Checkpoint: cp, BatchSize: 10, PartialTimeout: 20 * time.Millisecond}
	_, r := runReader(t, cfg, 30)
	s := r.Stats()
	if s.CursorSaveErrors == 0 || s.CursorCommits != 0 {
		t.Fatalf("save errors %d, commits %d; want errors counted and no commit", s.CursorSaveErrors, s.CursorCommits)
	}
	// The directory is back: the next batch saves again.
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	es = append(es, conmonEntry(30, "web", idWeb, "line 30\n", "6"))
	path = buildJournal(t, es)
	cfg.Files = []string{path}
	got, r := runReader(t, cfg, 31) // no cursor saved: from the head again
	if saved, err := cp.Load(); err != nil || saved != journalctlCursors(t, path)[30] {
		t.Fatalf("saved %q (%v), want the last entry's cursor", saved, err)
	}
	if r.Stats().CursorSaveErrors != 0 || got[30].Body != "line 30" {
		t.Fatalf("second run: save errors %d, last body %q", r.Stats().CursorSaveErrors, got[30].Body)
	}
}

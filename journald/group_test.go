package journald

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/journald/multiline"
	"github.com/podexporter/podexporter/logrecord"
)

// labelEnricher knows every container, with the labels of its id.
type labelEnricher map[string]map[string]string

func (e labelEnricher) Container(id string) (logrecord.ContainerInfo, bool) {
	return logrecord.ContainerInfo{Labels: e[id]}, true
}

// lineFeeder hands a tail conmon entries, one journal millisecond apart unless told.
type lineFeeder struct {
	tl   *tail
	seq  int
	usec uint64
}

func newFeeder(t *testing.T, cfg Config) *lineFeeder {
	t.Helper()
	cfg.Sink, cfg.Directory = &collect{}, "/nonexistent"
	r, err := NewReader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &lineFeeder{tl: r.newTail(), usec: 1_700_000_000_000_000}
}

// line feeds one entry of container id (12 characters) on stream prio ("6" stdout,
// "3" stderr); partial marks a piece conmon split.
func (f *lineFeeder) line(id, prio, msg string, partial bool) {
	f.seq++
	f.usec += 1000
	fields := make([][]byte, nFixed)
	fields[fMessage] = []byte(msg)
	fields[fPriority] = []byte(prio)
	fields[fContainerID] = []byte(id)
	fields[fContainerName] = []byte("c-" + id)
	if partial {
		fields[fPartial] = []byte("true")
	}
	f.tl.e = rawEntry{realtime: f.usec, cursor: fmt.Sprintf("s=x;i=%x", f.seq), fields: fields}
	f.tl.handle(time.Now())
}

func (f *lineFeeder) bodies() []string {
	var out []string
	for _, r := range f.tl.batch {
		out = append(out, r.Body)
	}
	return out
}

const ctrA, ctrB = "aaaaaaaaaaaa", "bbbbbbbbbbbb"

func mustRule(t *testing.T, spec string) multiline.Rule {
	t.Helper()
	r, err := multiline.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestMultilineJoin: continuation lines join the record of the line that began them,
// per container stream and never across; the record is acknowledged by its last
// line while the cursor saved meanwhile stays before its first.
func TestMultilineJoin(t *testing.T) {
	f := newFeeder(t, Config{Multiline: mustRule(t, `^\S`)})
	f.line(ctrA, "6", "start 1\n", false)
	f.line(ctrA, "6", "  frame a\n", false)
	f.line(ctrB, "6", "  other container\n", false) // B's own record, not A's
	f.line(ctrA, "3", "  stderr line\n", false)     // A's stderr: another stream
	f.line(ctrA, "6", "  frame ", true)             // a continuation split by conmon
	f.line(ctrA, "6", "b\n", false)
	if got := f.bodies(); len(got) != 0 {
		t.Fatalf("records before the next start: %q", got)
	}
	// Held before A's first line (entry 1), which is still being joined.
	if c := f.tl.safeCursor(); c != "" {
		t.Fatalf("safe cursor %q while A's record is pending, want the one before its first line", c)
	}
	f.line(ctrA, "6", "start 2\n", false)
	got := f.bodies()
	if len(got) != 1 || got[0] != "start 1\n  frame a\n  frame b" {
		t.Fatalf("records %q, want A's first record joined from three lines", got)
	}
	rec := f.tl.batch[0]
	if rec.Lines != 3 || rec.Pieces != 4 || rec.Cursor != "s=x;i=6" || rec.Size != len(got[0])-2 {
		t.Errorf("record lines %d pieces %d cursor %s size %d; want 3, 4, the last piece's, %d", rec.Lines, rec.Pieces, rec.Cursor, rec.Size, len(got[0])-2)
	}
	// B's and A's stderr records began at entries 3 and 4: still before them.
	if c := f.tl.safeCursor(); c != "s=x;i=2" {
		t.Errorf("safe cursor %q, want the entry before B's pending record", c)
	}
	f.tl.flushPartialsLive(time.Now().Add(time.Minute))
	if n := len(f.tl.batch); n != 4 || f.tl.safeCursor() != "s=x;i=7" {
		t.Errorf("after the live timeout: %d records, safe cursor %q; want 4 and the last entry", n, f.tl.safeCursor())
	}
	if s := f.tl.r.Stats(); s.MultilineRecords != 1 || s.MultilineLines != 3 {
		t.Errorf("multiline records %d lines %d, want 1 and 3", s.MultilineRecords, s.MultilineLines)
	}
}

// TestMultilineTimeouts: while behind, a line that comes later in the journal's own
// time than the timeout begins its own record, as it would have live; once caught
// up the wall clock flushes.
func TestMultilineTimeouts(t *testing.T) {
	f := newFeeder(t, Config{Multiline: mustRule(t, `^\S`), MultilineTimeout: time.Second})
	f.line(ctrA, "6", "start\n", false)
	f.usec += 2_000_000
	f.line(ctrA, "6", "  late continuation\n", false)
	if got := f.bodies(); len(got) != 1 || got[0] != "start" {
		t.Fatalf("records %q, want the first flushed alone", got)
	}
	f.tl.flushPartialsBehind(f.usec + 500_000)
	if len(f.tl.batch) != 1 {
		t.Fatal("flushed within the timeout in journal time")
	}
	f.tl.flushPartialsBehind(f.usec + 1_000_000)
	if got := f.bodies(); len(got) != 2 || got[1] != "  late continuation" {
		t.Fatalf("records %q, want the second flushed at the timeout in journal time", got)
	}
	f.line(ctrA, "6", "live\n", false)
	f.tl.flushPartialsLive(time.Now())
	if len(f.tl.batch) != 2 {
		t.Fatal("flushed live before the timeout")
	}
	f.tl.flushPartialsLive(time.Now().Add(time.Second))
	if len(f.tl.batch) != 3 {
		t.Fatal("not flushed live after the timeout")
	}
}

// TestMultilineSizeBound: a record that would pass MaxLineBytes goes out as it is and
// the line begins the next one: nothing is cut, and the lines come out whole.
func TestMultilineSizeBound(t *testing.T) {
	f := newFeeder(t, Config{Multiline: mustRule(t, `^\S`), MaxLineBytes: 1024})
	lines := []string{"start"}
	for i := range 40 {
		lines = append(lines, fmt.Sprintf("  frame %02d %s", i, strings.Repeat("x", 90)))
	}
	for _, l := range lines {
		f.line(ctrA, "6", l+"\n", false)
	}
	f.tl.flushPartialsLive(time.Now().Add(time.Minute))
	got := f.bodies()
	if len(got) < 4 {
		t.Fatalf("%d records, want the 4 KiB trace split at 1 KiB", len(got))
	}
	for _, b := range got {
		if len(b) > 1024 {
			t.Errorf("record of %d bytes passes the bound", len(b))
		}
	}
	if strings.Join(got, "\n") != strings.Join(lines, "\n") {
		t.Error("the records do not add up to the lines")
	}
	if s := f.tl.r.Stats(); s.MultilineSplits != uint64(len(got)-1) || s.LinesCut != 0 {
		t.Errorf("splits %d, cut %d; want %d and 0", s.MultilineSplits, s.LinesCut, len(got)-1)
	}
}

// TestLogLabelsOverFlags: a container's labels choose its rule over the flags'; none
// turns joining off; an invalid label is counted and the flags' rule applies.
func TestLogLabelsOverFlags(t *testing.T) {
	const ctrC = "cccccccccccc"
	f := newFeeder(t, Config{Multiline: mustRule(t, `^\S`), Enricher: labelEnricher{
		ctrA: {LabelMultiline: "none"},
		ctrB: {LabelMultiline: `^START`},
		ctrC: {LabelMultiline: `^(broken`},
	}})
	for _, id := range []string{ctrA, ctrB, ctrC} {
		f.line(id, "6", "START x\n", false)
		f.line(id, "6", "  indented\n", false)
		f.line(id, "6", "plain\n", false)
	}
	f.tl.flushPartialsLive(time.Now().Add(time.Minute))
	byID := map[string][]string{}
	for _, r := range f.tl.batch {
		byID[r.ContainerID] = append(byID[r.ContainerID], r.Body)
	}
	want := map[string][]string{
		ctrA: {"START x", "  indented", "plain"}, // none: nothing joined
		ctrB: {"START x\n  indented\nplain"},     // only START begins a record
		ctrC: {"START x\n  indented", "plain"},   // broken label: the flag's ^\S
	}
	for id, w := range want {
		if fmt.Sprint(byID[id]) != fmt.Sprint(w) {
			t.Errorf("%s: records %q, want %q", id, byID[id], w)
		}
	}
	if n := f.tl.r.Stats().InvalidHints; n != 3 {
		t.Errorf("invalid label counted %d times, want once per record of its container (3)", n)
	}
}

package journald

import (
	"testing"
)

// TestCheckpointText: a checkpoint taken with lines open names them and the entry
// read last, reads back to the same, and a restart skips exactly the entries that
// were delivered: other streams' and units' up to the entry read last, and an open
// stream's before its open line.
func TestCheckpointText(t *testing.T) {
	f := newFeeder(t, Config{})
	f.line(ctrB, "6", "b before\n", false)
	f.line(ctrA, "6", "first ", true) // A's stdout line stays open from entry 2
	f.line(ctrB, "6", "b done\n", false)
	text := f.tl.checkpointText(f.tl.safeCursor())
	want := "s=x;i=1\nread x 3\nopen 6 2 " + ctrA
	if text != want {
		t.Fatalf("text %q, want %q", text, want)
	}
	cursor, skip := parseCheckpoint(want)
	if cursor != "s=x;i=1" || skip == nil || skip.read != 3 || skip.open[lineID{ctrA, 6}] != 2 {
		t.Fatalf("parsed %q %+v", cursor, skip)
	}
	if c, s := parseCheckpoint("s=x;i=5"); c != "s=x;i=5" || s != nil {
		t.Errorf("a bare cursor parsed as %q %+v", c, s)
	}
	if c, s := parseCheckpoint("s=x;i=5\nread x zz\nfuture line"); c != "s=x;i=5" || s != nil {
		t.Errorf("a bad read line parsed as %q %+v", c, s)
	}

	g := newFeeder(t, Config{})
	g.tl.skip = &skipUntil{seqID: "x", read: 4, open: map[lineID]uint64{{ctrA, 6}: 3}}
	for _, c := range []struct {
		id, prio string
		deliver  bool
	}{
		{ctrA, "6", false}, // 1: A's, before its open line
		{ctrB, "6", false}, // 2: B's, delivered
		{ctrA, "6", true},  // 3: A's open line
		{ctrA, "3", false}, // 4: A's stderr, delivered
		{ctrB, "6", true},  // 5: past the entry read last
	} {
		n := len(g.tl.batch)
		g.line(c.id, c.prio, "x\n", false)
		if got := len(g.tl.batch) > n; got != c.deliver {
			t.Errorf("entry %d (%s %s): delivered %v, want %v", g.seq, c.id, c.prio, got, c.deliver)
		}
	}
	if g.tl.skip != nil {
		t.Error("still skipping past the entry read last")
	}
}

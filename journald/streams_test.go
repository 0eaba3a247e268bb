package journald

import (
	"fmt"
	"testing"
	"time"
)

// The per-container counters hold at most maxStreams streams: forged container ids
// (any local user can write them) must not grow them without end, and streams idle
// for lineIdle make room again.
func TestStreamCountsCapped(t *testing.T) {
	sc := streamCounts[string]{m: map[string]*lineCount{}}
	t0 := time.Unix(1_000_000, 0)
	for i := range maxStreams {
		if sc.count(fmt.Sprint(i), t0) == nil {
			t.Fatalf("stream %d refused below the cap", i)
		}
	}
	steps := []struct {
		at     time.Duration
		key    string
		counts bool
	}{
		{time.Second, "new", false},                // full
		{time.Second, "5", true},                   // a counted stream goes on
		{lineIdle + 30*time.Second, "new", true},   // idle ones swept (the last sweep was a minute before)
		{lineIdle + 31*time.Second, "newer", true}, // room made
		{lineIdle + 32*time.Second, "5", true},     // seen at +1s: still there
		{lineIdle + 33*time.Second, "forged-1", true},
	}
	for _, s := range steps {
		if got := sc.count(s.key, t0.Add(s.at)) != nil; got != s.counts {
			t.Fatalf("at +%s, stream %q counted %v, want %v (%d streams)", s.at, s.key, got, s.counts, len(sc.m))
		}
	}
	if len(sc.m) > 5 {
		t.Fatalf("%d streams after the idle ones went, want the 5 seen since", len(sc.m))
	}
}

package podman

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

// A container Podman cannot give stats for spoils the shared call: the engine splits
// the call until the broken ones stand alone, so one broken container among many
// costs a few calls, not one per container; the next round asks the rest together
// and the broken one apart.
func TestStatsRoundSplitsAroundBrokenContainers(t *testing.T) {
	for _, tc := range []struct {
		name             string
		running          int
		broken           []int
		maxFirst, second int
	}{
		// The first round: the shared call, then two calls a level on each broken
		// container's way down: 1 + 2k·ceil(log2 n). The second: the rest together,
		// the broken ones together and split again.
		{name: "none broken", running: 300, maxFirst: 1, second: 1},
		{name: "one of 300", running: 300, broken: []int{262}, maxFirst: 1 + 2*9, second: 2},
		{name: "three of 300", running: 300, broken: []int{1, 150, 299}, maxFirst: 1 + 3*2*9, second: 1 + 1 + 2*2},
		{name: "all of 8", running: 8, broken: []int{0, 1, 2, 3, 4, 5, 6, 7}, maxFirst: 15, second: 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI()
			e := New(Options{StatsInterval: 10 * time.Second, SlowInterval: time.Hour, ProcRoot: t.TempDir(),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			for n := range tc.running {
				e.containers[id(n)] = &Container{ID: id(n), Name: "c", State: "running"}
			}
			for _, n := range tc.broken {
				f.statsFail[id(n)] = true
			}
			round := func() int {
				before := f.callCount("stats")
				if err := e.refreshStats(f); err != nil {
					t.Fatal(err)
				}
				return f.callCount("stats") - before
			}
			if n := round(); n > tc.maxFirst {
				t.Errorf("first round: %d stats calls, want at most %d", n, tc.maxFirst)
			}
			if n := round(); n > tc.second {
				t.Errorf("second round: %d stats calls, want at most %d", n, tc.second)
			}
			withStats := 0
			for n := range tc.running {
				if e.containers[id(n)].Stats != nil {
					withStats++
				}
			}
			if want := tc.running - len(tc.broken); withStats != want {
				t.Errorf("%d containers with stats, want %d", withStats, want)
			}
			if len(e.statsBroken) != len(tc.broken) {
				t.Errorf("%d containers held broken, want %d", len(e.statsBroken), len(tc.broken))
			}
			// Well again: the next round gives it stats and forgets it.
			clear(f.statsFail)
			round()
			if len(e.statsBroken) != 0 {
				t.Errorf("%d containers still held broken after they recovered", len(e.statsBroken))
			}
		})
	}
}

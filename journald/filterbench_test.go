package journald

import (
	"regexp"
	"testing"
	"time"

	"github.com/podexporter/podexporter/journald/journaltest"
)

// Issue 14's case: one container's lines shipped from the head of a journal that
// also holds five times as many lines of other containers, against the same lines on
// a journal holding nothing else.
const (
	filterTargetLines = 100000
	filterOtherLines  = 500000
)

// BenchmarkReadFilterContainer reads FilterTarget's lines through
// --journal.include-container, with the name filter applied per entry (matches=off,
// as before) and as journal matches (matches=on).
func BenchmarkReadFilterContainer(b *testing.B) {
	journals := []struct{ name, dir string }{
		{"busy", journaltest.FilterJournal(b, filterTargetLines, filterOtherLines)},
		{"alone", journaltest.FilterJournal(b, filterTargetLines, 0)},
	}
	for _, j := range journals {
		for _, off := range []bool{true, false} {
			mode := "matches=on"
			if off {
				mode = "matches=off"
			}
			b.Run(j.name+"/"+mode, func(b *testing.B) {
				var wall, cpu time.Duration
				n := 0
				for b.Loop() {
					w, c := readFiltered(b, j.dir, off)
					n, wall, cpu = n+filterTargetLines, wall+w, cpu+c
				}
				b.ReportMetric(float64(n)/wall.Seconds(), "lines/s")
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(n)/1000, "cpu-us/line")
			})
		}
	}
}

// readFiltered ships FilterTarget's lines of the journal in dir to a no-op sink and
// returns the wall and CPU time until the last one arrived.
func readFiltered(b *testing.B, dir string, noMatches bool) (time.Duration, time.Duration) {
	return readTimed(b, Config{Directory: dir, Start: StartHead,
		IncludeContainer: regexp.MustCompile("^" + journaltest.FilterTarget + "$")}, filterTargetLines,
		func(r *Reader) { r.noMatches = noMatches })
}

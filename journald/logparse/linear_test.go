package logparse

import (
	"strings"
	"testing"
	"time"
)

// TestReadLinear guards against reading fields in time that grows with the
// square of their number, as it once did when every key of a role failed to read:
// 16 times the fields may take at most about 16 times as long (with slack for a
// noisy machine), not 256. Decoding is a single pass; its time is dominated by
// allocation, too noisy to measure here.
func TestReadLinear(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("timing")
	}
	// Every key of a role, and none reads.
	const unit = `"time":"x","ts":"y","level":{},"msg":1,"trace_id":"z","trace":{"id":1},"log":{"level":{}},"traceparent":"q",`
	cost := func(n int) time.Duration {
		ms, fail := decodeJSON("{"+strings.Repeat(unit, n)+`"end":0}`, nil)
		if fail.msg != "" {
			t.Fatal(fail.msg)
		}
		best := time.Duration(1 << 62)
		for range 5 {
			var l Line
			start := time.Now()
			for tk := takeMessage; tk <= takeTraceparent; tk++ {
				l.read(ms, tk)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	small, large := cost(500), cost(8000)
	if large > 64*small+time.Millisecond {
		t.Errorf("500 fields took %v, 8000 took %v", small, large)
	}
}

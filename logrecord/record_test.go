package logrecord

import "testing"

func TestSeverityFromPriority(t *testing.T) {
	for p, want := range map[int]Severity{0: 21, 1: 19, 2: 18, 3: 17, 4: 13, 5: 10, 6: 9, 7: 5, -1: 0, 8: 0} {
		if got := SeverityFromPriority(p); got != want {
			t.Errorf("SeverityFromPriority(%d) = %d, want %d", p, got, want)
		}
	}
	if SeverityFromPriority(3).String() != "ERROR" {
		t.Errorf("text of priority 3: %q", SeverityFromPriority(3).String())
	}
}

package logparse

import "testing"

func TestAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("instrumentation allocates")
	}
	tests := []struct {
		name string
		f    Format
		line string
		max  float64
	}{
		{"raw", Raw, benchJSON, 0},
		{"text without a level", Text, "2024/05/01 12:00:00 listening on :8080", 0},
		{"text with a level", Text, benchText, 0},
		{"auto on plain text", Auto, benchPlain, 0},
		{"auto on text with '='", Auto, "GET /x?a=b&c=d 200 ERROR", 0},
		// The Fields slice and the one field's boxed string.
		{"json", JSON, benchJSON, 2},
		{"logfmt", Logfmt, benchLogfmt, 2},
		{"auto on json", Auto, benchJSON, 2},
	}
	for _, tt := range tests {
		got := testing.AllocsPerRun(100, func() { _, _ = Parse(tt.f, tt.line, Options{}) })
		if got > tt.max {
			t.Errorf("%s: %v allocations, want at most %v", tt.name, got, tt.max)
		}
	}
}

package logparse

import "testing"

func TestLogfmtValues(t *testing.T) {
	tests := []struct {
		line string
		want Object
	}{
		{`a=1`, Object{{"a", "1"}}},
		{"  a=1\t\tb=2  ", Object{{"a", "1"}, {"b", "2"}}},
		{`a= b`, Object{{"a", ""}, {"b", ""}}},
		{`a=""`, Object{{"a", ""}}},
		{`a="x y"`, Object{{"a", "x y"}}},
		{`a="\"\\\/\b\f\n\r\t"`, Object{{"a", "\"\\/\b\f\n\r\t"}}},
		{`a="\u00e9\ud83d\ude00\ud83d"`, Object{{"a", "é😀\uFFFD"}}},
		{`a="\x41\u12"`, Object{{"a", `\x41\u12`}}},
		{"a=\"tab\there\"", Object{{"a", "tab\there"}}},
		{`a="é"`, Object{{"a", "é"}}},
		{`a=b c=d a=e`, Object{{"a", "b"}, {"c", "d"}, {"a", "e"}}},
		{`x==`, Object{{"x", "="}}},
		{`k.v/w:z=é`, Object{{"k.v/w:z", "é"}}},
	}
	for _, tt := range tests {
		l, err := Parse(Logfmt, tt.line, Options{KeepObject: true})
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if d := lineDiff(l, Line{Format: Logfmt, Object: tt.want}); d != "" {
			t.Errorf("%q: %s", tt.line, d)
		}
	}
}

package logparse

import (
	"encoding/json"
	"testing"
)

func TestJSONStrings(t *testing.T) {
	// Each decodes as encoding/json decodes it.
	for _, lit := range []string{
		`""`, `"plain"`, `"é 世界 😀"`,
		`"\" \\ \/ \b \f \n \r \t"`,
		`"\u0041\u00e9\u4e16\u0000"`,
		`"\ud83d\ude00"`, `"\uD83D\uDE00"`, // a surrogate pair, either case
		`"\ud83d"`, `"\ude00"`, `"\ud83dx"`, // lone surrogates
		`"\ud83d\u0041"`,                                                     // a high surrogate, then no low one
		`"\ud83d\ud83d\ude00"`,                                               // a lone one before a pair
		"\"a\xffb\"", "\"\xc3\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", // invalid UTF-8
		"\"\xef\xbf\xbd\"", // U+FFFD itself
		"\"\x7f\"",
	} {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("%q: %v", lit, err)
		}
		l, err := Parse(JSON, `{"k":`+lit+`,`+lit+`:1}`, Options{KeepObject: true})
		if err != nil {
			t.Errorf("%q: %v", lit, err)
			continue
		}
		if got := l.Object[0].Value; got != want {
			t.Errorf("value %q = %q, want %q", lit, got, want)
		}
		if got := l.Object[1].Key; got != want {
			t.Errorf("key %q = %q, want %q", lit, got, want)
		}
	}
}

func TestJSONNumbers(t *testing.T) {
	tests := []struct {
		lit  string
		want any
	}{
		{"0", int64(0)}, {"-0", int64(0)}, {"7", int64(7)}, {"-42", int64(-42)},
		{"9223372036854775807", int64(9223372036854775807)},
		{"-9223372036854775808", int64(-9223372036854775808)},
		{"9223372036854775808", 9223372036854775808.0},
		{"-9223372036854775809", -9223372036854775809.0},
		{"1.0", 1.0}, {"1e3", 1000.0}, {"1E+3", 1000.0}, {"2.5e-3", 0.0025}, {"-0.0", 0.0},
		{"1e400", "1e400"}, {"-1e400", "-1e400"}, {"1e-400", 0.0},
	}
	for _, tt := range tests {
		l, err := Parse(JSON, `{"n":`+tt.lit+`}`, Options{})
		if err != nil {
			t.Errorf("%s: %v", tt.lit, err)
			continue
		}
		if got := l.Fields[0].Value; got != tt.want {
			t.Errorf("%s = %#v, want %#v", tt.lit, got, tt.want)
		}
	}
}

package setting

import (
	"errors"
	"testing"
	"time"
)

func TestKeyOf(t *testing.T) {
	for flag, want := range map[string]string{
		"journal.batch-size":    "journal.batch_size",
		"otlp.metrics.interval": "otlp.metrics_interval",
		"web.config.file":       "web.config_file",
		"ebpf.enable":           "ebpf.enable",
		"nosection":             "",
	} {
		if got := keyOf(flag); got != want {
			t.Errorf("keyOf(%q) = %q, want %q", flag, got, want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Minute: "1m", 90 * time.Second: "1m30s", 2 * time.Hour: "2h", 10 * time.Second: "10s", 0: "0s"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// Each kind parses its text as a flag would, and a bad text is an *Error naming the
// flag; the file and the environment replace a repeatable setting's values.
func TestSetAndReplace(t *testing.T) {
	var (
		s   Set
		n   int
		b   bool
		d   time.Duration
		str string
		l   []string
	)
	tests := []struct {
		decl *Setting
		text string
		bad  bool
	}{
		{s.Int(&n, "a.n", "", 1), "42", false},
		{s.Int(&n, "a.m", "", 1), "4x", true},
		{s.Bool(&b, "a.b", "", false), "true", false},
		{s.Bool(&b, "a.c", "", false), "maybe", true},
		{s.Duration(&d, "a.d", "", time.Second), "1m30s", false},
		{s.Duration(&d, "a.e", "", time.Second), "10", true},
		{s.String(&str, "a.s", "", ""), "x", false},
		{s.Strings(&l, "a.l", ""), "y", false},
	}
	for _, tc := range tests {
		err := tc.decl.Set(tc.text)
		var se *Error
		if tc.bad != (err != nil) || tc.bad && (!errors.As(err, &se) || se.Setting != "--"+tc.decl.Flag) {
			t.Errorf("%s.Set(%q) = %v", tc.decl.Flag, tc.text, err)
		}
	}
	if n != 42 || !b || d != 90*time.Second || str != "x" || len(l) != 1 {
		t.Fatalf("values %d %v %s %q %q", n, b, d, str, l)
	}
	strs, _ := s.Lookup("a.l")
	_ = strs.Set("z")
	if err := strs.Replace([]string{"p", "q"}); err != nil || len(l) != 2 || l[0] != "p" {
		t.Fatalf("Replace gave %q, %v; want [p q]", l, err)
	}
}

// A flag declared twice is a programming error: the second declaration panics, so any
// test that builds the settings shows it.
func TestDeclaredTwicePanics(t *testing.T) {
	var s Set
	var a, b int
	s.Int(&a, "x.n", "", 1)
	defer func() {
		if recover() == nil {
			t.Fatal("a second x.n was accepted")
		}
	}()
	s.Int(&b, "x.n", "", 2)
}

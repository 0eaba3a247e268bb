package journalconf

import (
	"errors"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/setting"
)

func valid() Settings {
	return Settings{Sink: SinkJSONL, Output: "-", Start: "tail", MaxPriority: 7, MaxLineBytes: 1 << 20,
		PartialTimeout: 2 * time.Second, BatchSize: 1000, BatchAge: time.Second,
		LogFormat: "raw", LogBody: BodyMessage, MultilineTimeout: time.Second}
}

// TestValidate: the defaults pass, and a problem names its flag as a *setting.Error,
// which the binary turns into exit code 2.
func TestValidate(t *testing.T) {
	s := valid()
	if err := s.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		flag   string
		change func(*Settings)
	}{
		{"--journal.sink", func(s *Settings) { s.Sink = "kafka" }},
		{"--journal.start", func(s *Settings) { s.Start = "-1h" }},
		{"--journal.exclude-unit", func(s *Settings) { s.ExcludeUnit = "[" }},
		{"--journal.batch-age", func(s *Settings) { s.BatchAge = 0 }},
		{"--journal.extra-fields", func(s *Settings) { s.ExtraFields = []string{"lower"} }},
		{"--journal.log-format", func(s *Settings) { s.LogFormat = "yaml" }},
		{"--journal.log-format", func(s *Settings) { s.LogFormat = "" }},
		{"--journal.log-body", func(s *Settings) { s.LogBody = "object" }},
		{"--journal.multiline", func(s *Settings) { s.Multiline = "^(unclosed" }},
		{"--journal.multiline-timeout", func(s *Settings) { s.MultilineTimeout = 0 }},
		{"--journal.include-image", func(s *Settings) { s.IncludeImage = "(" }},
		{"--journal.exclude-image", func(s *Settings) { s.ExcludeImage = "a{2,1}" }},
		{"--journal.include-label", func(s *Settings) { s.IncludeLabels = []string{""} }},
		{"--journal.exclude-label", func(s *Settings) { s.ExcludeLabels = []string{"app", "bad\tkey=x"} }},
	} {
		s := valid()
		tc.change(&s)
		var se *setting.Error
		if err := s.Validate(); !errors.As(err, &se) || se.Setting != tc.flag {
			t.Errorf("%s: Validate() = %v", tc.flag, err)
		}
	}
}

func TestStartSince(t *testing.T) {
	s := Settings{Start: "90m"}
	if d, ok := s.StartSince(); !ok || d != 90*time.Minute {
		t.Errorf("StartSince(90m) = %s, %v", d, ok)
	}
	s.Start = "head"
	if _, ok := s.StartSince(); ok {
		t.Error("head taken for a duration")
	}
}

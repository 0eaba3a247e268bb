package otlpconf

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/setting"
)

func TestParseHeaders(t *testing.T) {
	h, err := ParseHeaders("Authorization=Bearer%20abc, X-Team=ops,")
	if err != nil || h["Authorization"] != "Bearer abc" || h["X-Team"] != "ops" || len(h) != 2 {
		t.Fatalf("ParseHeaders = %v, %v", h, err)
	}
	if _, err := ParseHeaders("novalue"); err == nil {
		t.Error("header without = accepted")
	}
}

// TestValidate: without an endpoint nothing is checked; with one, each problem names
// its own flag.
func TestValidate(t *testing.T) {
	if err := (&Settings{}).Validate(); err != nil {
		t.Fatalf("no endpoint: %v", err)
	}
	valid := func() Settings {
		return Settings{Endpoint: "http://127.0.0.1:4318", Protocol: ProtocolHTTP, Compression: "gzip", Timeout: 10 * time.Second, MetricsInterval: time.Minute}
	}
	for _, compression := range []string{"gzip", "zstd", "none"} {
		s := valid()
		s.Compression = compression
		if err := s.Validate(); err != nil {
			t.Fatalf("valid settings with %s: %v", compression, err)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct {
		flag   string
		change func(*Settings)
	}{
		{"--otlp.header", func(s *Settings) { s.Headers = []string{"=x"} }},
		{"--otlp.timeout", func(s *Settings) { s.Timeout = 0 }},
		{"--otlp.endpoint", func(s *Settings) { s.Endpoint = "collector:4317" }},
		{"--otlp.protocol", func(s *Settings) { s.Protocol = "http/json" }},
		{"--otlp.compression", func(s *Settings) { s.Compression = "lz4" }},
		{"--otlp.ca-file", func(s *Settings) { s.Endpoint, s.CAFile = "https://127.0.0.1:4317", missing }},
		{"--otlp.cert-file", func(s *Settings) { s.Endpoint, s.CertFile, s.KeyFile = "https://127.0.0.1:4317", missing, missing }},
	} {
		s := valid()
		tc.change(&s)
		var se *setting.Error
		if err := s.Validate(); !errors.As(err, &se) || se.Setting != tc.flag {
			t.Errorf("%s: Validate() = %v", tc.flag, err)
		}
	}
}

func TestHeaderMap(t *testing.T) {
	s := Settings{Headers: []string{"A = b=c", "D=e"}}
	if h := s.HeaderMap(); h["A"] != "b=c" || h["D"] != "e" {
		t.Errorf("HeaderMap = %v", h)
	}
}

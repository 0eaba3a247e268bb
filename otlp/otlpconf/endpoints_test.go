package otlpconf

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/setting"
)

// TestSignalURL is the OTLP exporter spec's rule for OTLP/HTTP URLs: the general
// endpoint is a base to whose path v1/<signal> is appended, whatever the path and
// with or without a trailing slash; a signal's own endpoint is used as given, an empty
// path being /.
func TestSignalURL(t *testing.T) {
	tests := []struct {
		endpoint  string
		signal    string
		perSignal bool
		want      string
	}{
		{"http://collector:4318", SignalLogs, false, "http://collector:4318/v1/logs"},
		{"http://collector:4318", SignalMetrics, false, "http://collector:4318/v1/metrics"},
		{"http://collector:4318/", SignalLogs, false, "http://collector:4318/v1/logs"},
		{"http://loki:3100/otlp", SignalLogs, false, "http://loki:3100/otlp/v1/logs"},
		{"http://loki:3100/otlp", SignalMetrics, false, "http://loki:3100/otlp/v1/metrics"},
		{"http://loki:3100/otlp/", SignalLogs, false, "http://loki:3100/otlp/v1/logs"},
		{"https://prometheus:9090/api/v1/otlp", SignalMetrics, false, "https://prometheus:9090/api/v1/otlp/v1/metrics"},
		{"https://gateway/tenant%2Fa/otlp", SignalLogs, false, "https://gateway/tenant%2Fa/otlp/v1/logs"},
		{"http://[::1]:4318/a/b", SignalLogs, false, "http://[::1]:4318/a/b/v1/logs"},
		{"http://collector:4318/v1/logs", SignalLogs, true, "http://collector:4318/v1/logs"},
		{"http://collector:4318", SignalLogs, true, "http://collector:4318/"},
		{"http://collector:4318/", SignalMetrics, true, "http://collector:4318/"},
		{"http://prometheus:9090/api/v1/otlp/v1/metrics", SignalMetrics, true, "http://prometheus:9090/api/v1/otlp/v1/metrics"},
		{"http://loki:3100/otlp/v1/logs", SignalLogs, true, "http://loki:3100/otlp/v1/logs"},
		{"http://gateway/custom/ingest/", SignalLogs, true, "http://gateway/custom/ingest/"},
	}
	for _, tc := range tests {
		if got := SignalURL(tc.endpoint, tc.signal, tc.perSignal); got != tc.want {
			t.Errorf("SignalURL(%q, %s, perSignal=%v) = %q, want %q", tc.endpoint, tc.signal, tc.perSignal, got, tc.want)
		}
	}
}

// TestHostPort: over gRPC only the host and port of either endpoint are dialled; the
// path is not used.
func TestHostPort(t *testing.T) {
	for endpoint, want := range map[string]string{
		"http://collector:4317":          "collector:4317",
		"https://collector:4317/otlp":    "collector:4317",
		"http://[::1]:4317/v1/logs":      "[::1]:4317",
		"https://otlp.example.com/a/b/c": "otlp.example.com",
	} {
		if got := (Target{Endpoint: endpoint}).HostPort(); got != want {
			t.Errorf("HostPort(%q) = %q, want %q", endpoint, got, want)
		}
	}
}

// declared returns Settings declared into a fresh set, and a function that gives a
// setting a value as a source would.
func declaredSettings(t *testing.T) (*Settings, func(flag, value string, from setting.Source)) {
	t.Helper()
	s := &Settings{}
	set := &setting.Set{}
	s.Declare(set)
	// Defaults as the flags would give them.
	for _, d := range set.All() {
		if d.Default != "" && d.Kind != setting.Strings {
			if err := d.Set(d.Default); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s, func(flag, value string, from setting.Source) {
		t.Helper()
		d, ok := set.Lookup(flag)
		if !ok {
			t.Fatalf("no setting %s", flag)
		}
		if err := d.Replace([]string{value}); err != nil {
			t.Fatal(err)
		}
		d.From = from
	}
}

// TestTargetPrecedence: for each signal, a flag for the signal, a flag for both, the
// file's key for the signal, the file's key for both, OTEL_EXPORTER_OTLP_<SIGNAL>_*,
// OTEL_EXPORTER_OTLP_*, the default. Within one source the signal's own setting wins;
// across sources the stronger source wins, whichever setting it gave.
func TestTargetPrecedence(t *testing.T) {
	const (
		general = "http://general:4318"
		own     = "http://own:4318/v1/logs"
	)
	tests := []struct {
		name        string
		generalFrom setting.Source // 0 with an empty value: not given
		ownFrom     setting.Source
		wantOwn     bool
		wantName    string
	}{
		{"own flag over general flag", setting.FromFlag, setting.FromFlag, true, "--otlp.logs-endpoint"},
		{"general flag over own file", setting.FromFlag, setting.FromFile, false, "--otlp.endpoint"},
		{"general flag over own env", setting.FromFlag, setting.FromEnv, false, "--otlp.endpoint"},
		{"own file over general file", setting.FromFile, setting.FromFile, true, "--otlp.logs-endpoint"},
		{"own file over general env", setting.FromEnv, setting.FromFile, true, "--otlp.logs-endpoint"},
		{"general file over own env", setting.FromFile, setting.FromEnv, false, "--otlp.endpoint"},
		{"own env over general env", setting.FromEnv, setting.FromEnv, true, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT (--otlp.logs-endpoint)"},
		{"own env alone", -1, setting.FromEnv, true, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT (--otlp.logs-endpoint)"},
		{"own flag alone", -1, setting.FromFlag, true, "--otlp.logs-endpoint"},
		{"general env alone", setting.FromEnv, -1, false, "OTEL_EXPORTER_OTLP_ENDPOINT (--otlp.endpoint)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, give := declaredSettings(t)
			if tc.generalFrom >= 0 {
				give("otlp.endpoint", general, tc.generalFrom)
			}
			if tc.ownFrom >= 0 {
				give("otlp.logs-endpoint", own, tc.ownFrom)
			}
			logs := s.Target(SignalLogs)
			want, wantURL := general, general+"/v1/logs"
			if tc.wantOwn {
				want, wantURL = own, own
			}
			if logs.Endpoint != want || logs.PerSignal != tc.wantOwn || logs.URL() != wantURL || logs.EndpointSetting() != tc.wantName {
				t.Errorf("logs target %q (per signal %v, URL %q, from %q), want %q (%v, %q, %q)",
					logs.Endpoint, logs.PerSignal, logs.URL(), logs.EndpointSetting(), want, tc.wantOwn, wantURL, tc.wantName)
			}
			// The metrics have no endpoint of their own: the general one, or none.
			m := s.Target(SignalMetrics)
			wantMetrics := ""
			if tc.generalFrom >= 0 {
				wantMetrics = general
			}
			if m.Endpoint != wantMetrics || m.PerSignal {
				t.Errorf("metrics target %q (per signal %v), want %q", m.Endpoint, m.PerSignal, wantMetrics)
			}
		})
	}
}

// TestTargetFields: every field a signal can have of its own wins over the general
// setting from the same source and falls back to it when empty; the two signals are
// independent; a default (the protocol's http/protobuf, the 10s timeout) loses to any
// source of the signal's own.
func TestTargetFields(t *testing.T) {
	s, give := declaredSettings(t)
	give("otlp.endpoint", "https://both:4318", setting.FromEnv)
	give("otlp.header", "Authorization=general", setting.FromEnv)
	give("otlp.ca-file", "/general/ca.pem", setting.FromEnv)
	give("otlp.logs-protocol", "grpc", setting.FromEnv)
	give("otlp.logs-header", "Authorization=logs", setting.FromEnv)
	give("otlp.logs-compression", "zstd", setting.FromEnv)
	give("otlp.logs-timeout", "2s", setting.FromEnv)
	give("otlp.logs-ca-file", "/logs/ca.pem", setting.FromEnv)
	give("otlp.logs-cert-file", "/logs/cert.pem", setting.FromEnv)
	give("otlp.logs-key-file", "/logs/key.pem", setting.FromEnv)
	give("otlp.metrics-endpoint", "https://metrics:9090/api/v1/otlp/v1/metrics", setting.FromFile)

	logs := s.Target(SignalLogs)
	if logs.Endpoint != "https://both:4318" || logs.PerSignal || logs.Protocol != ProtocolGRPC || logs.Compression != "zstd" ||
		logs.Timeout != 2*time.Second || logs.HeaderMap()["Authorization"] != "logs" || len(logs.Headers) != 1 ||
		logs.CAFile != "/logs/ca.pem" || logs.CertFile != "/logs/cert.pem" || logs.KeyFile != "/logs/key.pem" {
		t.Errorf("logs target %+v", logs)
	}
	m := s.Target(SignalMetrics)
	if m.Endpoint != "https://metrics:9090/api/v1/otlp/v1/metrics" || !m.PerSignal || m.Protocol != ProtocolHTTP || m.Compression != "gzip" ||
		m.Timeout != 10*time.Second || m.HeaderMap()["Authorization"] != "general" || m.CAFile != "/general/ca.pem" || m.CertFile != "" {
		t.Errorf("metrics target %+v", m)
	}
	if m.URL() != "https://metrics:9090/api/v1/otlp/v1/metrics" {
		t.Errorf("metrics URL %q", m.URL())
	}
}

// TestValidateSignals: each signal's target is checked, and a problem names the
// setting that gave the bad value (the variable first when it came from one) with the
// fix; settings built by hand name the flags.
func TestValidateSignals(t *testing.T) {
	valid := func() Settings {
		return Settings{Protocol: ProtocolHTTP, Compression: "gzip", Timeout: 10 * time.Second, MetricsInterval: time.Minute}
	}
	ok := []struct {
		name   string
		change func(*Settings)
	}{
		{"nothing pushed", func(*Settings) {}},
		{"logs alone", func(s *Settings) { s.ForLogs.Endpoint = "http://loki:3100/otlp/v1/logs" }},
		{"metrics alone", func(s *Settings) { s.ForMetrics.Endpoint = "http://prometheus:9090/api/v1/otlp/v1/metrics" }},
		{"base with a prefix", func(s *Settings) { s.Endpoint = "http://loki:3100/otlp/" }},
		{"base ending in v1/logs over gRPC", func(s *Settings) { s.Endpoint, s.Protocol = "http://collector:4317/v1/logs", ProtocolGRPC }},
		{"bad general protocol overridden for both", func(s *Settings) {
			s.Endpoint, s.Protocol, s.ForLogs.Protocol, s.ForMetrics.Protocol = "http://c:4318", "thrift", ProtocolGRPC, ProtocolHTTP
		}},
		{"no general timeout, each its own", func(s *Settings) {
			s.Endpoint, s.Timeout, s.ForLogs.Timeout, s.ForMetrics.Timeout = "http://c:4318", 0, time.Second, time.Second
		}},
	}
	for _, tc := range ok {
		s := valid()
		tc.change(&s)
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	bad := []struct {
		name, setting, problem, fix string
		change                      func(*Settings)
	}{
		{"logs endpoint without scheme", "--otlp.logs-endpoint", "not an absolute", "http://HOST:PORT", func(s *Settings) { s.ForLogs.Endpoint = "loki:3100" }},
		{"metrics endpoint relative", "--otlp.metrics-endpoint", "not an absolute", "https://", func(s *Settings) { s.ForMetrics.Endpoint = "/api/v1/otlp/v1/metrics" }},
		{"metrics endpoint ftp", "--otlp.metrics-endpoint", "not an absolute", "http://", func(s *Settings) { s.ForMetrics.Endpoint = "ftp://prometheus:9090" }},
		{"general endpoint unparsable", "--otlp.endpoint", "not an absolute", "http://", func(s *Settings) { s.Endpoint = "http://[::1" }},
		{"general endpoint with a query", "--otlp.endpoint", "query", "header", func(s *Settings) { s.Endpoint = "http://c:4318/otlp?key=x" }},
		{"logs endpoint with a password", "--otlp.logs-endpoint", "user", "Authorization", func(s *Settings) { s.ForLogs.Endpoint = "https://u:secret@loki/otlp/v1/logs" }},
		{"general endpoint already ending in v1/logs", "--otlp.endpoint", "already ends in /v1/logs", "--otlp.logs-endpoint", func(s *Settings) { s.Endpoint = "http://c:4318/v1/logs" }},
		{"general endpoint already ending in v1/metrics/", "--otlp.endpoint", "already ends in /v1/metrics", "http://c:4318/otlp", func(s *Settings) { s.Endpoint = "http://c:4318/otlp/v1/metrics/" }},
		{"logs protocol", "--otlp.logs-protocol", "http/json", "grpc or http/protobuf", func(s *Settings) { s.Endpoint, s.ForLogs.Protocol = "http://c:4318", "http/json" }},
		{"metrics compression", "--otlp.metrics-compression", "lz4", "gzip", func(s *Settings) { s.ForMetrics.Endpoint, s.ForMetrics.Compression = "http://c:4318/v1/metrics", "lz4" }},
		{"logs timeout", "--otlp.logs-timeout", "not positive", "10s", func(s *Settings) { s.Endpoint, s.ForLogs.Timeout = "http://c:4318", -time.Second }},
		{"metrics header", "--otlp.metrics-header", "key=value", "Authorization", func(s *Settings) { s.Endpoint, s.ForMetrics.Headers = "http://c:4318", []string{"novalue"} }},
		{"logs CA", "--otlp.logs-ca-file", "CA file", "https://", func(s *Settings) {
			s.ForLogs.Endpoint, s.ForLogs.CAFile = "https://c:4318/v1/logs", "/nonexistent/ca.pem"
		}},
		{"metrics client certificate", "--otlp.metrics-cert-file", "client certificate", "https://", func(s *Settings) {
			s.ForMetrics.Endpoint, s.ForMetrics.CertFile, s.ForMetrics.KeyFile = "https://c:4318/v1/metrics", "/nonexistent/c.pem", "/nonexistent/k.pem"
		}},
		{"general protocol where logs inherit it", "--otlp.protocol", "thrift", "grpc", func(s *Settings) {
			s.Endpoint, s.Protocol, s.ForMetrics.Protocol = "http://c:4318", "thrift", ProtocolGRPC
		}},
		{"interval", "--otlp.metrics.interval", "shorter", "60s", func(s *Settings) {
			s.ForMetrics.Endpoint, s.MetricsInterval = "http://c:4318/v1/metrics", time.Millisecond
		}},
	}
	for _, tc := range bad {
		s := valid()
		tc.change(&s)
		var se *setting.Error
		err := s.Validate()
		if !errors.As(err, &se) || se.Setting != tc.setting || !strings.Contains(se.Problem, tc.problem) || !strings.Contains(se.Fix, tc.fix) {
			t.Errorf("%s: Validate() = %v; want %s, a problem saying %q and a fix saying %q", tc.name, err, tc.setting, tc.problem, tc.fix)
		}
	}
}

// TestValidateNamesVariable: a bad value that came from the environment is reported
// under the variable's name, with the flag beside it.
func TestValidateNamesVariable(t *testing.T) {
	s, give := declaredSettings(t)
	give("otlp.metrics-endpoint", "prometheus:9090/api/v1/otlp/v1/metrics", setting.FromEnv)
	s.MetricsInterval = time.Minute
	var se *setting.Error
	if err := s.Validate(); !errors.As(err, &se) || se.Setting != "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (--otlp.metrics-endpoint)" {
		t.Fatalf("Validate() = %v, want it to name OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", err)
	}
}

// TestSignalVariablesParsed: the per-signal headers and timeout variables are read
// in the specification's forms, and a bad one names its own variable.
func TestSignalVariablesParsed(t *testing.T) {
	s := &Settings{}
	set := &setting.Set{}
	s.Declare(set)
	d, _ := set.Lookup("otlp.logs-header")
	if d.Env != "OTEL_EXPORTER_OTLP_LOGS_HEADERS" {
		t.Fatalf("logs headers variable %q", d.Env)
	}
	if got, err := d.FromEnv("X-Scope-OrgID=tenant%201,Authorization=Bearer%20t"); err != nil || strings.Join(got, "|") != "Authorization=Bearer t|X-Scope-OrgID=tenant 1" {
		t.Errorf("logs headers = %q, %v", got, err)
	}
	var se *setting.Error
	if _, err := d.FromEnv("novalue"); !errors.As(err, &se) || se.Setting != "OTEL_EXPORTER_OTLP_LOGS_HEADERS" {
		t.Errorf("bad logs headers: %v", err)
	}
	d, _ = set.Lookup("otlp.metrics-timeout")
	if got, err := d.FromEnv("2500"); err != nil || got[0] != "2.5s" {
		t.Errorf("metrics timeout = %q, %v", got, err)
	}
	if _, err := d.FromEnv("2s"); !errors.As(err, &se) || se.Setting != "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT" {
		t.Errorf("bad metrics timeout: %v", err)
	}
	for _, name := range []string{"endpoint", "protocol", "header", "ca-file", "cert-file", "key-file", "compression", "timeout"} {
		for _, signal := range []string{SignalLogs, SignalMetrics} {
			if _, ok := set.Lookup("otlp." + signal + "-" + name); !ok {
				t.Errorf("no --otlp.%s-%s", signal, name)
			}
		}
	}
}

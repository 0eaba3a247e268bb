package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/journald/journalconf"
	"github.com/podexporter/podexporter/otlp/otlpconf"
)

// TestOTLPSignalPrecedence: where each signal goes and how, from flags, the file and
// the environment together. Per signal the order is: a flag for the signal, a flag for
// both, the file's key for the signal, the file's key for both,
// OTEL_EXPORTER_OTLP_<SIGNAL>_*, OTEL_EXPORTER_OTLP_*, the default; the general
// endpoint is a base URL (v1/<signal> appended over HTTP), a signal's own is used as
// given.
func TestOTLPSignalPrecedence(t *testing.T) {
	const (
		loki  = "http://loki:3100/otlp/v1/logs"
		prom  = "http://prometheus:9090/api/v1/otlp/v1/metrics"
		other = "http://other:4318/v1/logs"
	)
	type want struct {
		logs, metrics       string // URLs; "" for not pushed
		logsProto, metProto string
		sink                string
	}
	tests := []struct {
		name  string
		args  []string
		file  string
		env   map[string]string
		want  want
		check func(t *testing.T, logs, metrics otlpconf.Target)
	}{
		{name: "base under a prefix", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://loki:3100/otlp"},
			want: want{"http://loki:3100/otlp/v1/logs", "http://loki:3100/otlp/v1/metrics", "http/protobuf", "http/protobuf", journalconf.SinkOTLP}},
		{name: "base with a trailing slash", args: []string{"--otlp.endpoint=http://loki:3100/otlp/"},
			want: want{"http://loki:3100/otlp/v1/logs", "http://loki:3100/otlp/v1/metrics", "http/protobuf", "http/protobuf", journalconf.SinkOTLP}},
		{name: "base without a path", args: []string{"--otlp.endpoint=http://collector:4318"},
			want: want{"http://collector:4318/v1/logs", "http://collector:4318/v1/metrics", "http/protobuf", "http/protobuf", journalconf.SinkOTLP}},
		{name: "signal variables over the base variable", env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": loki, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": prom},
			want: want{loki, prom, "http/protobuf", "http/protobuf", journalconf.SinkOTLP}},
		{name: "metrics alone: no logs, no log sink", env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": prom},
			want: want{"", prom, "http/protobuf", "http/protobuf", journalconf.SinkNone}},
		{name: "logs alone", args: []string{"--otlp.logs-endpoint=" + loki},
			want: want{loki, "", "http/protobuf", "http/protobuf", journalconf.SinkOTLP}},
		{name: "signal's own endpoint without a path posts to /", args: []string{"--otlp.logs-endpoint=http://gateway:8080"},
			want: want{"http://gateway:8080/", "", "http/protobuf", "http/protobuf", journalconf.SinkOTLP}},
		{name: "base flag over signal variable", args: []string{"--otlp.endpoint=http://flag:4318"}, env: map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": loki},
			want: want{"http://flag:4318/v1/logs", "http://flag:4318/v1/metrics", "http/protobuf", "http/protobuf", journalconf.SinkOTLP}},
		{name: "signal flag over base flag", args: []string{"--otlp.endpoint=http://flag:4318", "--otlp.metrics-endpoint=" + prom},
			want: want{"http://flag:4318/v1/logs", prom, "http/protobuf", "http/protobuf", journalconf.SinkOTLP}},
		{name: "signal key in the file over both variables", file: "otlp:\n  logs_endpoint: " + other + "\n",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": loki},
			want: want{other, "http://collector:4318/v1/metrics", "http/protobuf", "http/protobuf", journalconf.SinkOTLP}},
		{name: "base key in the file over the signal variable", file: "otlp:\n  endpoint: http://file:4318\n",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": loki},
			want: want{"http://file:4318/v1/logs", "http://file:4318/v1/metrics", "http/protobuf", "http/protobuf", journalconf.SinkOTLP}},
		{name: "signal key in the file over the base key", file: "otlp:\n  endpoint: http://file:4318\n  metrics_endpoint: " + prom + "\n",
			want: want{"http://file:4318/v1/logs", prom, "http/protobuf", "http/protobuf", journalconf.SinkOTLP}},
		{name: "signal flag over base flag over file and variables", args: []string{"--otlp.endpoint=http://flag:4318", "--otlp.logs-endpoint=" + other},
			file: "otlp:\n  logs_endpoint: http://file:1/x\n", env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": prom},
			want: want{other, "http://flag:4318/v1/metrics", "http/protobuf", "http/protobuf", journalconf.SinkOTLP}},
		{name: "signal protocol variable over the base one", env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "grpc"},
			want: want{"http://collector:4317/v1/logs", "http://collector:4317/v1/metrics", "grpc", "http/protobuf", journalconf.SinkOTLP}},
		{name: "signal protocol variable over the default", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"},
			want: want{"http://c:4317/v1/logs", "http://c:4317/v1/metrics", "http/protobuf", "grpc", journalconf.SinkOTLP}},
		{name: "base protocol flag over signal protocol variable", args: []string{"--otlp.protocol=grpc"},
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf"},
			want: want{"http://c:4317/v1/logs", "http://c:4317/v1/metrics", "grpc", "grpc", journalconf.SinkOTLP}},
		{name: "signal headers, timeout, compression and certificates", env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT":                   "http://c:4318",
			"OTEL_EXPORTER_OTLP_HEADERS":                    "X-Scope-OrgID=both",
			"OTEL_EXPORTER_OTLP_METRICS_HEADERS":            "Authorization=Bearer%20m",
			"OTEL_EXPORTER_OTLP_TIMEOUT":                    "2500",
			"OTEL_EXPORTER_OTLP_LOGS_TIMEOUT":               "1000",
			"OTEL_EXPORTER_OTLP_LOGS_COMPRESSION":           "zstd",
			"OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE":        "/etc/ca/metrics.pem",
			"OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE":    "/etc/tls/logs.crt",
			"OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY":            "/etc/tls/logs.key",
			"OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE": "",
		}, want: want{"http://c:4318/v1/logs", "http://c:4318/v1/metrics", "http/protobuf", "http/protobuf", journalconf.SinkOTLP},
			check: func(t *testing.T, logs, metrics otlpconf.Target) {
				lh, mh := logs.HeaderMap(), metrics.HeaderMap()
				if lh["X-Scope-OrgID"] != "both" || len(lh) != 1 || mh["Authorization"] != "Bearer m" || len(mh) != 1 {
					t.Errorf("headers: logs %v, metrics %v", lh, mh)
				}
				if logs.Timeout != time.Second || metrics.Timeout != 2500*time.Millisecond {
					t.Errorf("timeouts: logs %s, metrics %s", logs.Timeout, metrics.Timeout)
				}
				if logs.Compression != "zstd" || metrics.Compression != "gzip" {
					t.Errorf("compression: logs %s, metrics %s", logs.Compression, metrics.Compression)
				}
				if logs.CAFile != "" || metrics.CAFile != "/etc/ca/metrics.pem" || logs.CertFile != "/etc/tls/logs.crt" || logs.KeyFile != "/etc/tls/logs.key" || metrics.CertFile != "" {
					t.Errorf("files: logs %+v, metrics %+v", logs.TLSFiles, metrics.TLSFiles)
				}
			}},
		{name: "signal header flags replace the base ones", args: []string{"--otlp.endpoint=http://c:4318", "--otlp.header=A=1", "--otlp.logs-header=B=2", "--otlp.logs-header=C=3"},
			env:  map[string]string{"OTEL_EXPORTER_OTLP_LOGS_HEADERS": "D=4"},
			want: want{"http://c:4318/v1/logs", "http://c:4318/v1/metrics", "http/protobuf", "http/protobuf", journalconf.SinkOTLP},
			check: func(t *testing.T, logs, metrics otlpconf.Target) {
				if lh, mh := logs.HeaderMap(), metrics.HeaderMap(); len(lh) != 2 || lh["B"] != "2" || lh["C"] != "3" || len(mh) != 1 || mh["A"] != "1" {
					t.Errorf("headers: logs %v, metrics %v", lh, mh)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append(args, "--config.file="+writeFile(t, "podexporter.yml", tc.file))
			}
			c, err := Parse(args, testCollectors, "test", testEnv(tc.env))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			logs, metrics := c.OTLP.Target(otlpconf.SignalLogs), c.OTLP.Target(otlpconf.SignalMetrics)
			url := func(tg otlpconf.Target) string {
				if tg.Endpoint == "" {
					return ""
				}
				return tg.URL()
			}
			got := want{url(logs), url(metrics), logs.Protocol, metrics.Protocol, c.Journal.Sink}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, logs, metrics)
			}
		})
	}
}

// TestOTLPSignalBadInput: a bad value of a signal's own setting stops podexporter
// with an error naming that setting (the variable, when it came from one) and the fix.
func TestOTLPSignalBadInput(t *testing.T) {
	tests := []struct {
		name, file string
		args       []string
		env        map[string]string
		setting    string
		fix        string
	}{
		{name: "logs endpoint variable without scheme", env: map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "loki:3100/otlp/v1/logs"},
			setting: "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT (--otlp.logs-endpoint)", fix: "http://HOST:PORT"},
		{name: "metrics endpoint flag not a URL", args: []string{"--otlp.metrics-endpoint=prometheus"}, setting: "--otlp.metrics-endpoint", fix: "https://HOST:PORT"},
		{name: "metrics endpoint in the file", file: "otlp:\n  metrics_endpoint: ftp://prometheus/\n", setting: "--otlp.metrics-endpoint", fix: "http://HOST:PORT"},
		{name: "base variable not a URL", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"},
			setting: "OTEL_EXPORTER_OTLP_ENDPOINT (--otlp.endpoint)", fix: "http://HOST:PORT"},
		{name: "base already a logs URL", args: []string{"--otlp.endpoint=http://collector:4318/v1/logs"}, setting: "--otlp.endpoint", fix: "--otlp.logs-endpoint"},
		{name: "metrics protocol variable", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/json"},
			setting: "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL (--otlp.metrics-protocol)", fix: "grpc or http/protobuf"},
		{name: "logs protocol flag", args: []string{"--otlp.endpoint=http://c:4318", "--otlp.logs-protocol=thrift"}, setting: "--otlp.logs-protocol", fix: "grpc or http/protobuf"},
		{name: "logs compression variable", env: map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://c:4318/v1/logs", "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION": "lz4"},
			setting: "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION (--otlp.logs-compression)", fix: "zstd"},
		{name: "logs timeout variable", env: map[string]string{"OTEL_EXPORTER_OTLP_LOGS_TIMEOUT": "5s"}, setting: "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", fix: "milliseconds"},
		{name: "metrics headers variable", env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_HEADERS": "novalue"}, setting: "OTEL_EXPORTER_OTLP_METRICS_HEADERS", fix: "key1=value1"},
		{name: "metrics CA variable missing", env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "https://p:9090/api/v1/otlp/v1/metrics", "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE": "/nonexistent/ca.pem"},
			setting: "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE (--otlp.metrics-ca-file)", fix: "https://"},
		{name: "otlp log sink with metrics endpoint only", args: []string{"--journal.sink=otlp", "--otlp.metrics-endpoint=http://p:9090/api/v1/otlp/v1/metrics"},
			setting: "--journal.sink", fix: "--otlp.logs-endpoint"},
		{name: "endpoint with credentials", args: []string{"--otlp.logs-endpoint=https://user:secret@loki/otlp/v1/logs"}, setting: "--otlp.logs-endpoint", fix: "--otlp.header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append(args, "--config.file="+writeFile(t, "podexporter.yml", tc.file))
			}
			_, err := Parse(args, testCollectors, "test", testEnv(tc.env))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse = %v, want *config.Error", err)
			}
			if ce.Setting != tc.setting || !strings.Contains(ce.Fix, tc.fix) {
				t.Errorf("error %q: want setting %q and a fix saying %q", err, tc.setting, tc.fix)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

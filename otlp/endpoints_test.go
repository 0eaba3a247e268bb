package otlp

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/logrecord"
	"github.com/podexporter/podexporter/otlp/otlpconf"
)

// TestFromSettingsURLs: the exporters' configurations carry each signal's endpoint
// and whether it is the signal's own, so that OTLP/HTTP posts where the spec says.
func TestFromSettingsURLs(t *testing.T) {
	s := otlpconf.Settings{Endpoint: "http://loki:3100/otlp", Protocol: ProtocolHTTP, Timeout: time.Second}
	logs, metrics := FromSettings(s)
	if logs.signalURL(otlpconf.SignalLogs) != "http://loki:3100/otlp/v1/logs" || metrics.signalURL(otlpconf.SignalMetrics) != "http://loki:3100/otlp/v1/metrics" {
		t.Errorf("base endpoint: logs to %q, metrics to %q", logs.signalURL(otlpconf.SignalLogs), metrics.signalURL(otlpconf.SignalMetrics))
	}
	s.ForMetrics = otlpconf.Signal{Endpoint: "http://prometheus:9090/api/v1/otlp/v1/metrics", Protocol: ProtocolHTTP, Headers: []string{"X-A=b"}}
	s.ForLogs = otlpconf.Signal{Endpoint: "https://collector:4317/ignored", Protocol: ProtocolGRPC, Timeout: 3 * time.Second}
	logs, metrics = FromSettings(s)
	if !metrics.PerSignal || metrics.signalURL(otlpconf.SignalMetrics) != "http://prometheus:9090/api/v1/otlp/v1/metrics" || metrics.Headers["X-A"] != "b" || metrics.Setting != "--otlp.metrics-endpoint" {
		t.Errorf("metrics config %+v", metrics)
	}
	if logs.Protocol != ProtocolGRPC || logs.hostPort() != "collector:4317" || logs.Timeout != 3*time.Second {
		t.Errorf("logs config %+v", logs)
	}
}

// sendBoth builds the exporters FromSettings gives for s, as the daemon does, and
// sends two log records and one push of metrics for container id (12 hex digits)
// through them, each within its own deadline of within: an export to a wrong path is
// refused, so the log sink retries it until the deadline and the push fails.
func sendBoth(t *testing.T, s otlpconf.Settings, id string, within time.Duration) (logErr, metricErr error) {
	t.Helper()
	logsTo, metricsTo := FromSettings(s)
	host := Host{ServiceName: "podexporter-test", HostName: "h"}
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()

	exp, err := NewLogExporter(ctx, logsTo)
	if err != nil {
		t.Fatal(err)
	}
	sink := NewLogSink(exp, host, quiet())
	full := fmt.Sprintf("%s%052x", id, 0)
	logErr = sink.Deliver(ctx, []logrecord.Record{record(1, full), record(2, full)})
	closeCtx, closeCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer closeCancel()
	_ = sink.Close(closeCtx)

	ctx, cancel = context.WithTimeout(context.Background(), within)
	defer cancel()
	mexp, err := NewMetricExporter(ctx, metricsTo)
	if err != nil {
		t.Fatal(err)
	}
	gather := func() ([]*dto.MetricFamily, error) { return catalogFamilies(id), nil }
	lookup := func(id12 string) (Container, bool) { return Container{ID: id12, Name: "web"}, id12 == id }
	p := NewMetricPusher(mexp, gather, lookup, host, time.Hour, quiet())
	metricErr = p.Push(ctx)
	_ = mexp.Shutdown(closeCtx)
	return logErr, metricErr
}

// received counts what the Collector accepted for container id: log records and
// metric points.
func received(c *otelcoltest.Collector, id string) (records, points int) {
	full := fmt.Sprintf("%s%052x", id, 0)
	for _, r := range c.Logs() {
		if r.Resource["container.id"] == full {
			records++
		}
	}
	for _, p := range c.Metrics() {
		if p.Resource["container.id"] == id {
			points++
		}
	}
	return records, points
}

// TestBaseEndpointUnderPrefix: a Collector whose OTLP/HTTP receiver serves logs and
// metrics only under /otlp (logs_url_path, metrics_url_path: what Loki's /otlp and
// Prometheus's /api/v1/otlp look like to a client) receives both when given the base
// endpoint with the prefix, with or without a trailing slash; the base without the
// prefix reaches its 404s and delivers nothing.
func TestBaseEndpointUnderPrefix(t *testing.T) {
	c := otelcoltest.StartCollectorURLPaths(t, "/otlp/v1/logs", "/otlp/v1/metrics")
	for i, base := range []string{c.HTTPEndpoint + "/otlp", c.HTTPEndpoint + "/otlp/"} {
		t.Run(base, func(t *testing.T) {
			id := fmt.Sprintf("%012x", 0xa0+i)
			s := otlpconf.Settings{Endpoint: base, Protocol: ProtocolHTTP, Compression: "gzip", Timeout: 5 * time.Second, MetricsInterval: time.Minute}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			logErr, metricErr := sendBoth(t, s, id, 10*time.Second)
			if logErr != nil || metricErr != nil {
				t.Fatalf("logs: %v; metrics: %v", logErr, metricErr)
			}
			if records, points := received(c, id); records != 2 || points == 0 {
				t.Fatalf("collector received %d records and %d points, want 2 and some", records, points)
			}
		})
	}
	t.Run("without the prefix", func(t *testing.T) {
		id := fmt.Sprintf("%012x", 0xaf)
		s := otlpconf.Settings{Endpoint: c.HTTPEndpoint, Protocol: ProtocolHTTP, Compression: "gzip", Timeout: 2 * time.Second, MetricsInterval: time.Minute}
		logErr, metricErr := sendBoth(t, s, id, 2*time.Second)
		if logErr == nil || metricErr == nil || !strings.Contains(metricErr.Error(), "404") {
			t.Errorf("logs: %v; metrics: %v; want both refused (404) by a receiver serving /otlp/v1/* only", logErr, metricErr)
		}
		if records, points := received(c, id); records != 0 || points != 0 {
			t.Fatalf("collector received %d records and %d points at the unprefixed paths, want none", records, points)
		}
	})
}

// TestPerSignalEndpoints: with each signal's own endpoint given, logs reach one
// Collector and metrics another, each over its own protocol, and neither goes to the
// general endpoint (a closed port here) or to the other's receiver.
func TestPerSignalEndpoints(t *testing.T) {
	logsC := otelcoltest.StartCollector(t)
	metricsC := otelcoltest.StartCollectorURLPaths(t, "/v1/logs", "/api/v1/otlp/v1/metrics")
	tests := []struct {
		name   string
		signal func(s *otlpconf.Settings)
	}{
		{"logs over HTTP, metrics over HTTP under a path", func(s *otlpconf.Settings) {
			s.ForLogs.Endpoint = logsC.HTTPEndpoint + "/v1/logs"
			s.ForMetrics.Endpoint = metricsC.HTTPEndpoint + "/api/v1/otlp/v1/metrics"
		}},
		{"logs over gRPC, metrics over HTTP", func(s *otlpconf.Settings) {
			s.ForLogs.Endpoint, s.ForLogs.Protocol, s.ForLogs.Compression = "http://"+logsC.GRPCEndpoint, ProtocolGRPC, "zstd"
			s.ForMetrics.Endpoint = metricsC.HTTPEndpoint + "/api/v1/otlp/v1/metrics"
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("%012x", 0xb0+i)
			s := otlpconf.Settings{Endpoint: "http://127.0.0.1:1", Protocol: ProtocolHTTP, Compression: "gzip", Timeout: 5 * time.Second, MetricsInterval: time.Minute}
			tc.signal(&s)
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			logErr, metricErr := sendBoth(t, s, id, 10*time.Second)
			if logErr != nil || metricErr != nil {
				t.Fatalf("logs: %v; metrics: %v", logErr, metricErr)
			}
			if records, points := received(logsC, id); records != 2 || points != 0 {
				t.Errorf("logs' collector received %d records and %d points, want 2 and none", records, points)
			}
			if records, points := received(metricsC, id); records != 0 || points == 0 {
				t.Errorf("metrics' collector received %d records and %d points, want none and some", records, points)
			}
		})
	}
}

package otelcoltest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/podexporter/podexporter/internal/testenv"
)

// syncProcessor exports each record as it is emitted and keeps the error, which
// Logger.Emit would otherwise hand to the global error handler.
type syncProcessor struct {
	exp sdklog.Exporter
	err error
}

func (p *syncProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }

func (p *syncProcessor) OnEmit(ctx context.Context, r *sdklog.Record) error {
	p.err = p.exp.Export(ctx, []sdklog.Record{r.Clone()})
	return p.err
}

func (p *syncProcessor) Shutdown(ctx context.Context) error   { return p.exp.Shutdown(ctx) }
func (p *syncProcessor) ForceFlush(ctx context.Context) error { return p.exp.ForceFlush(ctx) }

// sender sends through the official Go SDK exporters, as podexporter's OTLP sink will.
type sender struct {
	name    string
	proc    *syncProcessor
	logger  otellog.Logger
	metrics interface {
		Export(context.Context, *metricdata.ResourceMetrics) error
		Shutdown(context.Context) error
	}
	res *resource.Resource
}

func newSender(t *testing.T, c *Collector, transport string) *sender {
	t.Helper()
	ctx := context.Background()
	res := resource.NewSchemaless(attribute.String("service.name", "podexporter-test"), attribute.String("transport", transport))
	s := &sender{name: transport, res: res}
	var (
		logExp sdklog.Exporter
		err    error
	)
	// Retries are off so that an outage shows up as an error at once; the timeout
	// bounds each attempt.
	switch transport {
	case "grpc":
		logExp, err = otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(c.GRPCEndpoint), otlploggrpc.WithInsecure(),
			otlploggrpc.WithRetry(otlploggrpc.RetryConfig{Enabled: false}), otlploggrpc.WithTimeout(5*time.Second))
		if err == nil {
			s.metrics, err = otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(c.GRPCEndpoint), otlpmetricgrpc.WithInsecure(),
				otlpmetricgrpc.WithRetry(otlpmetricgrpc.RetryConfig{Enabled: false}), otlpmetricgrpc.WithTimeout(5*time.Second))
		}
	case "http":
		logExp, err = otlploghttp.New(ctx, otlploghttp.WithEndpointURL(c.HTTPEndpoint+"/v1/logs"),
			otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}), otlploghttp.WithTimeout(5*time.Second))
		if err == nil {
			s.metrics, err = otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(c.HTTPEndpoint+"/v1/metrics"),
				otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}), otlpmetrichttp.WithTimeout(5*time.Second))
		}
	}
	if err != nil {
		t.Fatalf("%s exporters: %v", transport, err)
	}
	s.proc = &syncProcessor{exp: logExp}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(s.proc), sdklog.WithResource(res))
	s.logger = lp.Logger("podexporter/testenv", otellog.WithInstrumentationVersion("v0.0.1"))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = lp.Shutdown(ctx)
		_ = s.metrics.Shutdown(ctx)
	})
	return s
}

func (s *sender) log(body string, at time.Time) error {
	var r otellog.Record
	r.SetTimestamp(at)
	r.SetObservedTimestamp(at.Add(time.Millisecond))
	r.SetSeverity(otellog.SeverityWarn)
	r.SetSeverityText("WARN")
	r.SetBody(attribute.StringValue(body))
	r.AddAttributes(attribute.String("container.name", "web"), attribute.Int64("log.line", 7))
	s.proc.err = nil
	s.logger.Emit(context.Background(), r)
	return s.proc.err
}

func (s *sender) metric(name string, value int64, start, at time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.metrics.Export(ctx, &metricdata.ResourceMetrics{
		Resource: s.res,
		ScopeMetrics: []metricdata.ScopeMetrics{{
			Scope: instrumentation.Scope{Name: "podexporter/testenv"},
			Metrics: []metricdata.Metrics{{
				Name: name,
				Unit: "By",
				Data: metricdata.Sum[int64]{
					Temporality: metricdata.CumulativeTemporality,
					IsMonotonic: true,
					DataPoints: []metricdata.DataPoint[int64]{{
						Attributes: attribute.NewSet(attribute.String("container.name", "web")),
						StartTime:  start,
						Time:       at,
						Value:      value,
					}},
				}},
			},
		}},
	})
}

func logsWithBody(c *Collector, body string) []LogRecord {
	var out []LogRecord
	for _, r := range c.Logs() {
		if r.Body == body {
			out = append(out, r)
		}
	}
	return out
}

func pointsNamed(c *Collector, name string) []MetricPoint {
	var out []MetricPoint
	for _, p := range c.Metrics() {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// postJSONLog sends one record as OTLP/JSON and returns the HTTP status, to check the
// collector's answers without a client's interpretation in between.
func postJSONLog(t *testing.T, c *Collector, body string) int {
	t.Helper()
	req := fmt.Sprintf(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":%q}}]}]}]}`, body)
	resp, err := http.Post(c.HTTPEndpoint+"/v1/logs", "application/json", strings.NewReader(req))
	if err != nil {
		t.Fatalf("POST /v1/logs: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestCollectorRoundTrip proves the harness against the real collector: what the Go
// SDK sends over either transport comes back intact, an export fails while the
// collector is down, and works again after a restart on the same ports.
func TestCollectorRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the OpenTelemetry Collector")
	}
	// Logger.Emit reports failed exports to the global handler, which would print
	// every expected failure of the outage below; the senders keep the errors.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	c := StartCollector(t)
	at := time.Unix(1_800_000_000, 123_456_789)
	start := at.Add(-time.Minute)

	for _, transport := range []string{"grpc", "http"} {
		t.Run(transport, func(t *testing.T) {
			s := newSender(t, c, transport)
			body := "hello over " + transport
			if err := s.log(body, at); err != nil {
				t.Fatalf("export log: %v", err)
			}
			metricName := "podexporter_test_" + transport + "_bytes_total"
			if err := s.metric(metricName, 42, start, at); err != nil {
				t.Fatalf("export metric: %v", err)
			}

			// The exporter writes before the collector answers, so no waiting.
			logs := logsWithBody(c, body)
			if len(logs) != 1 {
				t.Fatalf("got %d log records with body %q, want 1; all: %+v", len(logs), body, c.Logs())
			}
			r := logs[0]
			if r.SeverityNumber != int(otellog.SeverityWarn) || r.SeverityText != "WARN" {
				t.Errorf("severity = %d %q, want %d WARN", r.SeverityNumber, r.SeverityText, otellog.SeverityWarn)
			}
			if !r.Time.Equal(at) || !r.ObservedTime.Equal(at.Add(time.Millisecond)) {
				t.Errorf("time = %v observed %v, want %v and 1ms later", r.Time, r.ObservedTime, at)
			}
			if r.Resource["service.name"] != "podexporter-test" || r.Resource["transport"] != transport {
				t.Errorf("resource = %v", r.Resource)
			}
			if r.Scope != "podexporter/testenv" || r.ScopeVersion != "v0.0.1" {
				t.Errorf("scope = %q %q", r.Scope, r.ScopeVersion)
			}
			if r.Attributes["container.name"] != "web" || r.Attributes["log.line"] != int64(7) {
				t.Errorf("attributes = %#v", r.Attributes)
			}

			points := pointsNamed(c, metricName)
			if len(points) != 1 {
				t.Fatalf("got %d points of %s, want 1; all: %+v", len(points), metricName, c.Metrics())
			}
			p := points[0]
			if p.Value != 42 || !p.IsInt || p.Type != "sum" || !p.Monotonic || p.Temporality != "cumulative" || p.Unit != "By" {
				t.Errorf("point = %+v, want int monotonic cumulative sum 42 By", p)
			}
			if !p.Start.Equal(start) || !p.Time.Equal(at) {
				t.Errorf("point times = %v..%v, want %v..%v", p.Start, p.Time, start, at)
			}
			if p.Attributes["container.name"] != "web" || p.Resource["transport"] != transport {
				t.Errorf("point attributes = %v resource = %v", p.Attributes, p.Resource)
			}
		})
	}

	t.Run("outage", func(t *testing.T) {
		senders := []*sender{newSender(t, c, "grpc"), newSender(t, c, "http")}
		c.Stop()
		for _, s := range senders {
			if err := s.log("lost during outage", at); err == nil {
				t.Errorf("%s: log export succeeded with the collector stopped", s.name)
			}
			if err := s.metric("podexporter_test_outage", 1, start, at); err == nil {
				t.Errorf("%s: metric export succeeded with the collector stopped", s.name)
			}
		}
		c.Start()
		for _, s := range senders {
			body := "after restart over " + s.name
			// A gRPC channel that saw the outage may still be in its reconnect
			// backoff, as a real sink's would; retrying is the sender's job.
			testenv.Eventually(t, 30*time.Second, s.name+" export after restart", func() bool {
				return s.log(body, at) == nil
			})
			testenv.Eventually(t, 30*time.Second, s.name+" metric export after restart", func() bool {
				return s.metric("podexporter_test_restart_"+s.name, 1, start, at) == nil
			})
			if n := len(logsWithBody(c, body)); n != 1 {
				t.Errorf("%s: %d records after restart, want 1", s.name, n)
			}
			if n := len(pointsNamed(c, "podexporter_test_restart_"+s.name)); n != 1 {
				t.Errorf("%s: %d points after restart, want 1", s.name, n)
			}
		}
		if n := len(logsWithBody(c, "lost during outage")); n != 0 {
			t.Errorf("%d records sent during the outage arrived", n)
		}
		if n := len(logsWithBody(c, "hello over grpc")); n != 1 {
			t.Errorf("records from before the restart: %d, want 1 (the file must survive restarts)", n)
		}
	})

	t.Run("reject", func(t *testing.T) {
		s := newSender(t, c, "grpc")
		for _, tc := range []struct {
			permanent bool
			http      int
			grpc      codes.Code
		}{
			{false, http.StatusServiceUnavailable, codes.Unavailable},
			{true, http.StatusBadRequest, codes.InvalidArgument},
		} {
			c.FailExports(tc.permanent)
			if got := postJSONLog(t, c, "rejected over http"); got != tc.http {
				t.Errorf("permanent=%v: HTTP status %d, want %d", tc.permanent, got, tc.http)
			}
			if got := status.Code(s.log("rejected over grpc", at)); got != tc.grpc {
				t.Errorf("permanent=%v: gRPC code %v, want %v", tc.permanent, got, tc.grpc)
			}
		}
		c.AcceptExports()
		if got := postJSONLog(t, c, "accepted again"); got != http.StatusOK {
			t.Errorf("HTTP status %d after AcceptExports, want 200", got)
		}
		if err := s.log("accepted again", at); err != nil {
			t.Errorf("gRPC export after AcceptExports: %v", err)
		}
		if n := len(logsWithBody(c, "accepted again")); n != 2 {
			t.Errorf("%d records accepted after AcceptExports, want 2", n)
		}
		for _, r := range c.Logs() {
			if strings.HasPrefix(r.Body, "rejected") {
				t.Errorf("a rejected record was written: %q", r.Body)
			}
		}
	})
}

// TestCollectorURLPaths proves the path-prefixed receiver the endpoint tests rely on:
// with logs_url_path and metrics_url_path set, the Collector takes each signal at its
// prefixed path only, and answers 404 at the default /v1/logs.
func TestCollectorURLPaths(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the OpenTelemetry Collector")
	}
	c := StartCollectorURLPaths(t, "/otlp/v1/logs", "/otlp/v1/metrics")
	post := func(path, body string) int {
		t.Helper()
		resp, err := http.Post(c.HTTPEndpoint+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	logReq := `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"under a prefix"}}]}]}]}`
	if code := post("/v1/logs", logReq); code != http.StatusNotFound {
		t.Errorf("POST /v1/logs = %d, want 404 with logs_url_path set", code)
	}
	if code := post("/otlp/v1/logs", logReq); code != http.StatusOK {
		t.Fatalf("POST /otlp/v1/logs = %d, want 200", code)
	}
	metricReq := `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"prefixed","gauge":{"dataPoints":[{"asInt":"7","timeUnixNano":"1800000000000000000"}]}}]}]}]}`
	if code := post("/otlp/v1/metrics", metricReq); code != http.StatusOK {
		t.Fatalf("POST /otlp/v1/metrics = %d, want 200", code)
	}
	if got := logsWithBody(c, "under a prefix"); len(got) != 1 {
		t.Errorf("collector has %d records sent under the prefix, want 1", len(got))
	}
	if got := pointsNamed(c, "prefixed"); len(got) != 1 || got[0].Value != 7 {
		t.Errorf("collector has points %+v, want one of 7", got)
	}
}

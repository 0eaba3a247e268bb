package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
)

// linesAt counts the collector's log records of the named container that are lines
// (not lifecycle events).
func linesAt(c *otelcoltest.Collector, name string) int {
	n := 0
	for _, r := range recordsOf(c, name) {
		if r.EventName == "" {
			n++
		}
	}
	return n
}

// containerPointsAt counts the collector's metric points on the container's resource.
func containerPointsAt(c *otelcoltest.Collector, id string) int {
	n := 0
	for _, p := range c.Metrics() {
		if p.Resource["container.id"] == id {
			n++
		}
	}
	return n
}

// TestOTLPEndpoints runs the daemon against real Collectors as a user would point it
// at Loki's /otlp or at separate backends for logs and metrics: a base endpoint with a
// path prefix gets both signals under the prefix; each signal's own endpoint, given by
// flags or by OTEL_EXPORTER_OTLP_{LOGS,METRICS}_* variables, gets that signal alone.
// What is checked is what the Collectors accepted: a container's lines as log records,
// its series as metric points.
func TestOTLPEndpoints(t *testing.T) {
	testenv.RequireJournald(t)
	p := testenv.RequirePodman(t)
	const lines = 50
	// run starts a container that writes lines numbered lines, and returns its name
	// and full id.
	run := func(t *testing.T, prefix string) (string, string) {
		name := testenv.UniqueName(prefix)
		id := p.Run(t, name, nil, "sh", "-c", fmt.Sprintf("sleep 1; i=0; while [ $i -lt %d ]; do echo \"%s $i\"; i=$((i+1)); done; sleep 600", lines, prefix))
		return name, strings.TrimSpace(id)
	}
	common := []string{"--podman.socket=" + p.Socket, "--journal.start=tail", "--otlp.metrics.interval=1s", "--podman.stats-interval=1s"}

	t.Run("base endpoint under a prefix", func(t *testing.T) {
		// Loki's native endpoint as a Collector serves it: /otlp/v1/logs, and
		// /otlp/v1/metrics for the metrics a Loki would not take.
		c := otelcoltest.StartCollectorURLPaths(t, "/otlp/v1/logs", "/otlp/v1/metrics")
		startDaemon(t, nil, append(common, "--otlp.endpoint="+c.HTTPEndpoint+"/otlp", "--otlp.protocol=http/protobuf")...)
		name, id := run(t, "prefix")
		testenv.Eventually(t, 30*time.Second, fmt.Sprintf("%d lines and the container's metric points under /otlp", lines), func() bool {
			return linesAt(c, name) >= lines && containerPointsAt(c, id) > 0
		})
	})

	// Two Collectors: logs to one, metrics to the other, whose receiver takes them only
	// at Prometheus's path. configure gives the daemon's environment and flags for them.
	perSignal := func(t *testing.T, configure func(logsC, metricsC *otelcoltest.Collector) (env, args []string)) {
		logsC, metricsC := otelcoltest.StartCollector(t), otelcoltest.StartCollectorURLPaths(t, "/v1/logs", "/api/v1/otlp/v1/metrics")
		env, args := configure(logsC, metricsC)
		startDaemon(t, env, append(common, args...)...)
		name, id := run(t, "persignal")
		testenv.Eventually(t, 30*time.Second, fmt.Sprintf("%d lines at the logs' collector and the container's points at the metrics'", lines), func() bool {
			return linesAt(logsC, name) >= lines && containerPointsAt(metricsC, id) > 0
		})
		if n := len(logsC.Metrics()); n != 0 {
			t.Errorf("the logs' collector received %d metric points", n)
		}
		if n := len(metricsC.Logs()); n != 0 {
			t.Errorf("the metrics' collector received %d log records", n)
		}
	}
	t.Run("per-signal endpoints from flags", func(t *testing.T) {
		perSignal(t, func(logsC, metricsC *otelcoltest.Collector) ([]string, []string) {
			return nil, []string{
				"--otlp.logs-endpoint=" + logsC.HTTPEndpoint + "/v1/logs",
				"--otlp.metrics-endpoint=" + metricsC.HTTPEndpoint + "/api/v1/otlp/v1/metrics",
			}
		})
	})
	t.Run("per-signal endpoints from the environment", func(t *testing.T) {
		// The general endpoint is a closed port: each signal's own wins over it. The
		// logs go over gRPC, by their own protocol variable.
		perSignal(t, func(logsC, metricsC *otelcoltest.Collector) ([]string, []string) {
			return []string{
				"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1",
				"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=http://" + logsC.GRPCEndpoint,
				"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=grpc",
				"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=" + metricsC.HTTPEndpoint + "/api/v1/otlp/v1/metrics",
				"OTEL_EXPORTER_OTLP_METRICS_HEADERS=X-Scope-OrgID=podexporter",
			}, nil
		})
	})
}

// TestOTLPEndpointExitCodes: a bad endpoint or protocol, from a flag or a variable,
// is exit code 2 and one line naming the setting and the fix.
func TestOTLPEndpointExitCodes(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     []string
		message string
	}{
		{"logs endpoint flag without scheme", []string{"--otlp.logs-endpoint=loki:3100/otlp/v1/logs"}, nil, "invalid --otlp.logs-endpoint: \"loki:3100/otlp/v1/logs\" is not an absolute http:// or https:// URL; fix: write it as http://HOST:PORT"},
		{"metrics endpoint variable not a URL", nil, []string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=prometheus"}, "invalid OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (--otlp.metrics-endpoint)"},
		{"logs protocol variable", nil, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/json"}, "invalid OTEL_EXPORTER_OTLP_LOGS_PROTOCOL (--otlp.logs-protocol)"},
		{"base endpoint already a signal's", []string{"--otlp.endpoint=http://127.0.0.1:4318/v1/metrics"}, nil, "fix: give the base, http://127.0.0.1:4318, or give the full URL as --otlp.metrics-endpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := exec.Command(binary, append([]string{"version"}, tc.args...)...)
			cmd.Env = append(cleanEnv(), tc.env...)
			cmd.Stderr = &stderr
			err := cmd.Run()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), tc.message) {
				t.Fatalf("%v with %q, want exit 2 with %q", err, stderr.String(), tc.message)
			}
			if strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
				t.Errorf("want one line, got %q", stderr.String())
			}
		})
	}
}

// cleanEnv is this process's environment without OTEL_EXPORTER_OTLP_* variables, so
// that a developer's own do not change what the binary is told.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_EXPORTER_OTLP_") {
			out = append(out, kv)
		}
	}
	return out
}

package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
)

// TestExampleCollectorConfig runs the shipped deploy/examples/otelcol.yaml in a real
// Collector (only its ports moved to free ones) and points podexporter at it with the
// flags the example names: the Collector must report logs and metrics received.
func TestExampleCollectorConfig(t *testing.T) {
	testenv.RequireJournald(t)
	p := testenv.RequirePodman(t)
	example, err := os.ReadFile("../../deploy/examples/otelcol.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := otelcoltest.StartCollectorWithConfig(t, func(grpcAddr, httpAddr string) string {
		cfg := strings.ReplaceAll(string(example), "127.0.0.1:4317", grpcAddr)
		return strings.ReplaceAll(cfg, "127.0.0.1:4318", httpAddr)
	})
	startDaemon(t, nil, "--podman.socket="+p.Socket, "--otlp.endpoint=http://"+c.GRPCEndpoint, "--otlp.protocol=grpc",
		"--journal.start=tail", "--otlp.metrics.interval=1s")
	name := testenv.UniqueName("example")
	p.Run(t, name, nil, "sh", "-c", "echo from-the-example; sleep 600")
	// The debug exporter at basic verbosity logs one line per batch with its counts.
	logs := regexp.MustCompile(`"log records": [1-9]`)
	points := regexp.MustCompile(`"data points": [1-9]`)
	testenv.Eventually(t, 30*time.Second, "the example Collector to report logs and metric points", func() bool {
		out := c.Output()
		return logs.MatchString(out) && points.MatchString(out)
	})
}

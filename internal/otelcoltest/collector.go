// Package otelcoltest runs a real OpenTelemetry Collector (the tools/otelcol module,
// built on first use) for tests that send OTLP, and reads back what it accepted: the
// collector appends every request as one line of OTLP/JSON, which Logs and Metrics
// decode with protojson into the OTLP protobuf types and flatten into LogRecord and
// MetricPoint values. Without the Go toolchain or the collector's modules, or under
// go test -short, a test that starts one is skipped (it fails under CI=true), by the
// rules of internal/testenv.
package otelcoltest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// collectorDir is the tools module that builds the OpenTelemetry Collector.
const collectorDir = "tools/otelcol"

// Collector is a real OpenTelemetry Collector (tools/otelcol) listening for OTLP on
// loopback. Everything it accepts is appended to JSON-lines files that Logs and Metrics
// read back, across restarts. Its methods call t.Fatal, so use them from the test's
// own goroutine.
type Collector struct {
	// GRPCEndpoint is the OTLP/gRPC address, host:port.
	GRPCEndpoint string
	// HTTPEndpoint is the OTLP/HTTP base URL, http://host:port; the receiver serves
	// /v1/logs and /v1/metrics under it.
	HTTPEndpoint string

	t           testing.TB
	bin         string
	config      string
	logsPath    string
	metricsPath string
	failPath    string
	stderrPath  string

	// proc is the running collector, nil while stopped.
	proc *collectorProc
}

// collectorProc is one run of the collector binary; exited closes once wait returns,
// which the goroutine started with the process owns and ends with it.
type collectorProc struct {
	cmd     *exec.Cmd
	stderr  *os.File
	exited  chan struct{}
	waitErr error
}

// Endpoint is the URL an exporter of protocol ("grpc", else OTLP/HTTP) is given.
func (c *Collector) Endpoint(protocol string) string {
	if protocol == "grpc" {
		return "http://" + c.GRPCEndpoint
	}
	return c.HTTPEndpoint
}

// StartCollector builds the collector on first use (cached across test runs by the
// hash of its sources), starts it on two free loopback ports and stops it when the
// test ends. When the Go toolchain or a module download is unavailable, the test is
// skipped with the fix, or fails under CI=true.
func StartCollector(t testing.TB) *Collector {
	t.Helper()
	return startCollector(t, nil)
}

// StartCollectorTLS is StartCollector with both receivers serving TLS with the
// given PEM certificate and key.
func StartCollectorTLS(t testing.TB, certFile, keyFile string) *Collector {
	t.Helper()
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	tls := fmt.Sprintf("\n        tls:\n          cert_file: %s\n          key_file: %s", q(certFile), q(keyFile))
	return startCollector(t, func(c *Collector, grpcAddr, httpAddr string) string {
		return strings.Replace(strings.Replace(
			Config(grpcAddr, httpAddr, c.paths()),
			"endpoint: "+q(grpcAddr), "endpoint: "+q(grpcAddr)+tls, 1),
			"endpoint: "+q(httpAddr), "endpoint: "+q(httpAddr)+tls, 1)
	})
}

// StartCollectorURLPaths is StartCollector with the OTLP/HTTP receiver serving logs
// at logsPath and metrics at metricsPath (the receiver's logs_url_path and
// metrics_url_path, such as /otlp/v1/logs) instead of /v1/logs and /v1/metrics, which
// then answer 404: a receiver behind a path prefix, as Grafana Loki's /otlp and
// Prometheus's /api/v1/otlp are. The gRPC receiver is unchanged.
func StartCollectorURLPaths(t testing.TB, logsPath, metricsPath string) *Collector {
	t.Helper()
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return startCollector(t, func(c *Collector, grpcAddr, httpAddr string) string {
		paths := fmt.Sprintf("\n        logs_url_path: %s\n        metrics_url_path: %s", q(logsPath), q(metricsPath))
		return strings.Replace(Config(grpcAddr, httpAddr, c.paths()), "endpoint: "+q(httpAddr), "endpoint: "+q(httpAddr)+paths, 1)
	})
}

// StartCollectorWithConfig starts the collector with the configuration config returns
// for the two free loopback addresses it is given (host:port), instead of the JSON-lines
// one: for running shipped example configurations as they are. Logs and Metrics then
// read nothing; Output has what the collector printed.
func StartCollectorWithConfig(t testing.TB, config func(grpcAddr, httpAddr string) string) *Collector {
	t.Helper()
	return startCollector(t, func(_ *Collector, grpcAddr, httpAddr string) string { return config(grpcAddr, httpAddr) })
}

// Output returns everything the collector printed so far (its own log and, with the
// debug exporter, what it received).
func (c *Collector) Output() string {
	c.t.Helper()
	b, err := os.ReadFile(c.stderrPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.t.Fatalf("collector: %v", err)
	}
	return string(b)
}

func startCollector(t testing.TB, custom func(c *Collector, grpcAddr, httpAddr string) string) *Collector {
	t.Helper()
	testenv.SkipShort(t, "an OpenTelemetry Collector")
	bin := Binary(t)
	dir := t.TempDir()
	c := &Collector{
		t:           t,
		bin:         bin,
		config:      filepath.Join(dir, "config.yaml"),
		logsPath:    filepath.Join(dir, "logs.jsonl"),
		metricsPath: filepath.Join(dir, "metrics.jsonl"),
		failPath:    filepath.Join(dir, "fail"),
		stderrPath:  filepath.Join(dir, "collector.log"),
	}
	addrs := testenv.FreeAddrs(t, 2)
	grpcAddr, httpAddr := addrs[0], addrs[1]
	c.GRPCEndpoint = grpcAddr
	c.HTTPEndpoint = "http://" + httpAddr
	config := Config(grpcAddr, httpAddr, c.paths())
	if custom != nil {
		config = custom(c, grpcAddr, httpAddr)
	}
	if err := os.WriteFile(c.config, []byte(config), 0o644); err != nil {
		t.Fatalf("write collector config: %v", err)
	}
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			c.logTail()
		}
	})
	c.Start()
	return c
}

// Paths are the files of one collector run: what it accepted (Logs, Metrics), the
// file whose existence makes it refuse exports (Fail, see FailExports) and what it
// printed (Output).
type Paths struct {
	Logs, Metrics, Fail, Output string
}

func (c *Collector) paths() Paths {
	return Paths{Logs: c.logsPath, Metrics: c.metricsPath, Fail: c.failPath, Output: c.stderrPath}
}

// Config is the configuration StartCollector runs the collector with: OTLP received
// on grpcAddr and httpAddr (host:port), logs and metrics appended as JSON lines to
// p.Logs and p.Metrics, every export refused while p.Fail exists. The paths are the
// ones the collector process sees; p.Output is not part of the configuration (the
// collector prints to stderr). It is for running Binary elsewhere, read with Attach.
// The values are written as JSON strings inside YAML, which quotes any path safely.
func Config(grpcAddr, httpAddr string, p Paths) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	logsPath, metricsPath, failPath := p.Logs, p.Metrics, p.Fail
	return fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
      http:
        endpoint: %s
exporters:
  jsonfile/logs:
    path: %s
    fail_file: %s
  jsonfile/metrics:
    path: %s
    fail_file: %s
service:
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [jsonfile/logs]
    metrics:
      receivers: [otlp]
      exporters: [jsonfile/metrics]
`, q(grpcAddr), q(httpAddr), q(logsPath), q(failPath), q(metricsPath), q(failPath))
}

// Attach returns the Collector for a run of Binary with Config that the test started
// elsewhere (in a container, as a service), listening on grpcEndpoint (host:port) and
// httpEndpoint (http://host:port): Logs, Metrics, Output, FailExports and
// AcceptExports use the files at p as this process sees them. Start, Stop, Running
// and PID do not apply to it: it is not this package's process.
func Attach(t testing.TB, grpcEndpoint, httpEndpoint string, p Paths) *Collector {
	return &Collector{
		t:            t,
		GRPCEndpoint: grpcEndpoint,
		HTTPEndpoint: httpEndpoint,
		logsPath:     p.Logs,
		metricsPath:  p.Metrics,
		failPath:     p.Fail,
		stderrPath:   p.Output,
	}
}

// Start starts a stopped collector again on the same ports and waits until both
// accept connections. Data received before the restart stays readable.
func (c *Collector) Start() {
	c.t.Helper()
	if c.proc != nil {
		c.t.Fatalf("collector: Start while already running")
	}
	stderr, err := os.OpenFile(c.stderrPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		c.t.Fatalf("collector: open its log: %v", err)
	}
	cmd := exec.Command(c.bin, "--config=file:"+c.config)
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		stderr.Close()
		c.t.Fatalf("collector: start %s: %v", c.bin, err)
	}
	p := &collectorProc{cmd: cmd, stderr: stderr, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	c.proc = p

	deadline := time.Now().Add(30 * time.Second)
	for _, addr := range []string{c.GRPCEndpoint, strings.TrimPrefix(c.HTTPEndpoint, "http://")} {
		for {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-p.exited:
				c.proc = nil
				stderr.Close()
				c.t.Fatalf("collector exited before listening on %s: %v\n%s", addr, p.waitErr, c.tail())
			default:
			}
			if time.Now().After(deadline) {
				c.Stop()
				c.t.Fatalf("collector did not listen on %s within 30s\n%s", addr, c.tail())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// Stop shuts the collector down gracefully, or kills it after 10 s, and returns once
// the process is gone and its ports are closed. Stopping a stopped collector is a no-op.
func (c *Collector) Stop() {
	p := c.proc
	if p == nil {
		return
	}
	c.proc = nil
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.stderr.Close()
}

// Running reports whether the collector process is up.
func (c *Collector) Running() bool {
	if c.proc == nil {
		return false
	}
	select {
	case <-c.proc.exited:
		return false
	default:
		return true
	}
}

// PID returns the collector's process id, 0 while it is stopped, so that benchmarks
// can charge the receiving side's CPU and memory (from /proc) next to their own.
func (c *Collector) PID() int {
	if !c.Running() {
		return 0
	}
	return c.proc.cmd.Process.Pid
}

// FailExports makes the collector refuse every export until AcceptExports, without
// a restart: a permanent failure is a non-retryable rejection (gRPC InvalidArgument,
// HTTP 400), otherwise a retryable one (gRPC Unavailable, HTTP 503). Nothing refused
// is written.
func (c *Collector) FailExports(permanent bool) {
	c.t.Helper()
	mode := "retryable"
	if permanent {
		mode = "permanent"
	}
	if err := os.WriteFile(c.failPath, []byte(mode), 0o644); err != nil {
		c.t.Fatalf("collector: %v", err)
	}
}

// AcceptExports undoes FailExports.
func (c *Collector) AcceptExports() {
	c.t.Helper()
	if err := os.Remove(c.failPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.t.Fatalf("collector: %v", err)
	}
}

// tail returns the end of the collector's own log, for failure messages.
func (c *Collector) tail() string {
	b, _ := os.ReadFile(c.stderrPath)
	const max = 8 << 10
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

func (c *Collector) logTail() {
	if s := c.tail(); s != "" {
		c.t.Logf("collector log (end):\n%s", s)
	}
}

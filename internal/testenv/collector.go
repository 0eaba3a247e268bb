package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// modulePath identifies the repository root when walking up from a test's directory.
const modulePath = "github.com/podexporter/podexporter"

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
			collectorConfig(grpcAddr, httpAddr, c.logsPath, c.metricsPath, c.failPath),
			"endpoint: "+q(grpcAddr), "endpoint: "+q(grpcAddr)+tls, 1),
			"endpoint: "+q(httpAddr), "endpoint: "+q(httpAddr)+tls, 1)
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
	bin := collectorBinary(t)
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
	grpcAddr, httpAddr := FreeAddr(t), FreeAddr(t)
	c.GRPCEndpoint = grpcAddr
	c.HTTPEndpoint = "http://" + httpAddr
	config := collectorConfig(grpcAddr, httpAddr, c.logsPath, c.metricsPath, c.failPath)
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

// collectorConfig is written as JSON strings inside YAML, which quotes any path safely.
func collectorConfig(grpcAddr, httpAddr, logsPath, metricsPath, failPath string) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
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

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildSkip string // non-empty when the failure is a missing tool or download, not a bug
)

// collectorBinary returns the collector binary, building it at most once per test
// process and reusing a binary built by an earlier run from identical sources.
func collectorBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { builtBin, buildSkip, buildErr = buildCollector() })
	if buildSkip != "" {
		missing(t, buildSkip, "make sure 'go' is on PATH and the Go module proxy is reachable, then run 'go -C "+collectorDir+" mod download'")
	}
	if buildErr != nil {
		t.Fatalf("build the OpenTelemetry Collector: %v", buildErr)
	}
	return builtBin
}

// buildCollector returns the binary path, or a reason to skip, or an error.
func buildCollector() (bin, skip string, err error) {
	root, err := repoRoot()
	if err != nil {
		return "", "", err
	}
	src := filepath.Join(root, collectorDir)
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", "the Go toolchain is not on PATH, so the OpenTelemetry Collector cannot be built", nil
	}
	key, err := sourceKey(goBin, src)
	if err != nil {
		return "", "", err
	}
	cacheDir := filepath.Join(os.TempDir(), "podexporter-otelcol-"+key)
	bin = filepath.Join(cacheDir, "otelcol")
	if _, err := os.Stat(bin); err == nil {
		return bin, "", nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", "", fmt.Errorf("create build cache: %w", err)
	}
	// go test runs packages in parallel; the lock makes the others wait for the one
	// build instead of each spending minutes on the same work.
	lock, err := os.OpenFile(filepath.Join(cacheDir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return "", "", fmt.Errorf("open build lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", "", fmt.Errorf("take build lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin, "", nil
	}

	env := append(os.Environ(),
		// A go.work elsewhere or the caller's cross-compilation settings must not
		// change what runs on this machine.
		"GOWORK=off", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0",
	)
	if out, err := runGo(goBin, env, "-C", src, "mod", "download"); err != nil {
		return "", fmt.Sprintf("cannot download the OpenTelemetry Collector's modules: %v: %s", err, lastLines(out, 10)), nil
	}
	tmp := bin + ".tmp"
	if out, err := runGo(goBin, env, "build", "-C", src, "-buildvcs=false", "-trimpath", "-o", tmp, "."); err != nil {
		return "", "", fmt.Errorf("go build in %s: %w: %s", collectorDir, err, lastLines(out, 30))
	}
	// Rename last, so that a binary at the final path is always complete.
	if err := os.Rename(tmp, bin); err != nil {
		return "", "", fmt.Errorf("install collector binary: %w", err)
	}
	return bin, "", nil
}

func runGo(goBin string, env []string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Env = env
	return cmd.CombinedOutput()
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// repoRoot walks up from the working directory (the package under test) to the
// directory whose go.mod declares podexporter's module.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			for line := range strings.SplitSeq(string(b), "\n") {
				if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == modulePath {
					return dir, nil
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod for module %s above the working directory", modulePath)
		}
		dir = parent
	}
}

// sourceKey hashes what decides the binary: the toolchain and the tools module's
// go.mod, go.sum and non-test Go files.
func sourceKey(goBin, src string) (string, error) {
	h := sha256.New()
	out, err := exec.Command(goBin, "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	fmt.Fprintf(h, "%s %s/%s\n", bytes.TrimSpace(out), runtime.GOOS, runtime.GOARCH)
	var files []string
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		if name == "go.mod" || name == "go.sum" || strings.HasSuffix(name, ".go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("list %s: %w", collectorDir, err)
	}
	slices.Sort(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("hash collector sources: %w", err)
		}
		rel, _ := filepath.Rel(src, f)
		fmt.Fprintf(h, "%s %d\n", rel, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// LogRecord is one log record the collector accepted, flattened with its resource
// and scope. Attribute values keep their OTLP type: string, bool, int64, float64,
// []byte, []any or map[string]any.
type LogRecord struct {
	Resource     map[string]any
	Scope        string
	ScopeVersion string
	// Time and ObservedTime are zero when the sender left them unset.
	Time           time.Time
	ObservedTime   time.Time
	SeverityNumber int
	SeverityText   string
	EventName      string
	// Body is the body as a string; a non-string body is rendered as JSON.
	Body string
	// BodyValue is the body with its OTLP type, nil when there is none.
	BodyValue  any
	Attributes map[string]any
	TraceID    string
	SpanID     string
}

// MetricPoint is one data point the collector accepted, flattened with its metric,
// scope and resource.
type MetricPoint struct {
	Resource    map[string]any
	Scope       string
	Name        string
	Description string
	Unit        string
	// Type is gauge, sum, histogram, exponentialHistogram or summary.
	Type string
	// Temporality is cumulative or delta for sums and histograms, empty otherwise.
	Temporality string
	Monotonic   bool
	Attributes  map[string]any
	// Start is zero when the sender left it unset.
	Start time.Time
	Time  time.Time
	// Value is a gauge or sum point's value (IsInt says it travelled as asInt), or
	// a histogram's or summary's sum.
	Value float64
	IsInt bool
	// Count, BucketCounts and ExplicitBounds describe histograms and summaries.
	Count          uint64
	BucketCounts   []uint64
	ExplicitBounds []float64
}

// Logs returns every log record accepted so far, in arrival order.
func (c *Collector) Logs() []LogRecord {
	c.t.Helper()
	recs, _ := c.LogsFrom(0)
	return recs
}

// LogsFrom returns the log records accepted after byte offset off of the
// collector's output and the offset to ask from next time, so that a caller
// polling a busy collector reads each record once.
func (c *Collector) LogsFrom(off int64) ([]LogRecord, int64) {
	c.t.Helper()
	var out []LogRecord
	next := c.readLinesFrom(c.logsPath, off, func(line []byte) error {
		var doc otlpLogs
		if err := json.Unmarshal(line, &doc); err != nil {
			return err
		}
		for _, rl := range doc.ResourceLogs {
			res := attrMap(rl.Resource.Attributes)
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					r := LogRecord{
						Resource:       res,
						Scope:          sl.Scope.Name,
						ScopeVersion:   sl.Scope.Version,
						Time:           lr.TimeUnixNano.time(),
						ObservedTime:   lr.ObservedTimeUnixNano.time(),
						SeverityNumber: int(lr.SeverityNumber),
						SeverityText:   lr.SeverityText,
						EventName:      lr.EventName,
						Attributes:     attrMap(lr.Attributes),
						TraceID:        lr.TraceID,
						SpanID:         lr.SpanID,
					}
					if lr.Body != nil {
						r.BodyValue = lr.Body.value()
						if s, ok := r.BodyValue.(string); ok {
							r.Body = s
						} else {
							b, _ := json.Marshal(r.BodyValue)
							r.Body = string(b)
						}
					}
					out = append(out, r)
				}
			}
		}
		return nil
	})
	return out, next
}

// Metrics returns every data point accepted so far, in arrival order.
func (c *Collector) Metrics() []MetricPoint {
	c.t.Helper()
	var out []MetricPoint
	c.readLines(c.metricsPath, func(line []byte) error {
		var doc otlpMetrics
		if err := json.Unmarshal(line, &doc); err != nil {
			return err
		}
		for _, rm := range doc.ResourceMetrics {
			res := attrMap(rm.Resource.Attributes)
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					base := MetricPoint{Resource: res, Scope: sm.Scope.Name, Name: m.Name, Description: m.Description, Unit: m.Unit}
					out = append(out, m.points(base)...)
				}
			}
		}
		return nil
	})
	return out
}

// readLines calls parse for each complete line of path; a missing file is no data
// yet, and a last line without its newline is a write still in progress.
func (c *Collector) readLines(path string, parse func([]byte) error) {
	c.t.Helper()
	c.readLinesFrom(path, 0, parse)
}

// readLinesFrom is readLines from byte offset off; it returns the offset after
// the last complete line.
func (c *Collector) readLinesFrom(path string, off int64, parse func([]byte) error) int64 {
	c.t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return off
	}
	if err != nil {
		c.t.Fatalf("collector: read %s: %v", path, err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		c.t.Fatalf("collector: seek %s: %v", path, err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		c.t.Fatalf("collector: read %s: %v", path, err)
	}
	i := bytes.LastIndexByte(b, '\n')
	if i < 0 {
		return off
	}
	b = b[:i+1]
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 256<<20)
	for n := 1; sc.Scan(); n++ {
		if err := parse(sc.Bytes()); err != nil {
			c.t.Fatalf("collector: %s line %d after offset %d is not OTLP/JSON: %v", filepath.Base(path), n, off, err)
		}
	}
	if err := sc.Err(); err != nil {
		c.t.Fatalf("collector: read %s: %v", path, err)
	}
	return off + int64(len(b))
}

// The types below decode OTLP/JSON (the protobuf JSON mapping the collector's
// pdata writes) without pulling the collector's modules into podexporter's go.mod.
// 64-bit integers may arrive as strings or numbers, enums as numbers or names.

type otlpLogs struct {
	ResourceLogs []struct {
		Resource  otlpResource `json:"resource"`
		ScopeLogs []struct {
			Scope      otlpScope `json:"scope"`
			LogRecords []struct {
				TimeUnixNano         jsonUint64    `json:"timeUnixNano"`
				ObservedTimeUnixNano jsonUint64    `json:"observedTimeUnixNano"`
				SeverityNumber       jsonEnum      `json:"severityNumber"`
				SeverityText         string        `json:"severityText"`
				EventName            string        `json:"eventName"`
				Body                 *otlpAnyValue `json:"body"`
				Attributes           []otlpKV      `json:"attributes"`
				TraceID              string        `json:"traceId"`
				SpanID               string        `json:"spanId"`
			} `json:"logRecords"`
		} `json:"scopeLogs"`
	} `json:"resourceLogs"`
}

type otlpMetrics struct {
	ResourceMetrics []struct {
		Resource     otlpResource `json:"resource"`
		ScopeMetrics []struct {
			Scope   otlpScope    `json:"scope"`
			Metrics []otlpMetric `json:"metrics"`
		} `json:"scopeMetrics"`
	} `json:"resourceMetrics"`
}

type otlpResource struct {
	Attributes []otlpKV `json:"attributes"`
}

type otlpScope struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type otlpKV struct {
	Key   string       `json:"key"`
	Value otlpAnyValue `json:"value"`
}

type otlpAnyValue struct {
	StringValue *string                          `json:"stringValue"`
	BoolValue   *bool                            `json:"boolValue"`
	IntValue    *jsonInt64                       `json:"intValue"`
	DoubleValue *jsonFloat64                     `json:"doubleValue"`
	BytesValue  *string                          `json:"bytesValue"`
	ArrayValue  *struct{ Values []otlpAnyValue } `json:"arrayValue"`
	KvlistValue *struct{ Values []otlpKV }       `json:"kvlistValue"`
}

func (v *otlpAnyValue) value() any {
	switch {
	case v.StringValue != nil:
		return *v.StringValue
	case v.BoolValue != nil:
		return *v.BoolValue
	case v.IntValue != nil:
		return int64(*v.IntValue)
	case v.DoubleValue != nil:
		return float64(*v.DoubleValue)
	case v.BytesValue != nil:
		b, err := base64.StdEncoding.DecodeString(*v.BytesValue)
		if err != nil {
			return *v.BytesValue
		}
		return b
	case v.ArrayValue != nil:
		out := make([]any, 0, len(v.ArrayValue.Values))
		for i := range v.ArrayValue.Values {
			out = append(out, v.ArrayValue.Values[i].value())
		}
		return out
	case v.KvlistValue != nil:
		return attrMap(v.KvlistValue.Values)
	}
	return nil
}

func attrMap(kvs []otlpKV) map[string]any {
	m := make(map[string]any, len(kvs))
	for i := range kvs {
		m[kvs[i].Key] = kvs[i].Value.value()
	}
	return m
}

type otlpNumberPoint struct {
	Attributes        []otlpKV     `json:"attributes"`
	StartTimeUnixNano jsonUint64   `json:"startTimeUnixNano"`
	TimeUnixNano      jsonUint64   `json:"timeUnixNano"`
	AsInt             *jsonInt64   `json:"asInt"`
	AsDouble          *jsonFloat64 `json:"asDouble"`
}

type otlpHistogramPoint struct {
	Attributes        []otlpKV      `json:"attributes"`
	StartTimeUnixNano jsonUint64    `json:"startTimeUnixNano"`
	TimeUnixNano      jsonUint64    `json:"timeUnixNano"`
	Count             jsonUint64    `json:"count"`
	Sum               *jsonFloat64  `json:"sum"`
	BucketCounts      []jsonUint64  `json:"bucketCounts"`
	ExplicitBounds    []jsonFloat64 `json:"explicitBounds"`
}

type otlpMetric struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Unit        string `json:"unit"`
	Gauge       *struct {
		DataPoints []otlpNumberPoint `json:"dataPoints"`
	} `json:"gauge"`
	Sum *struct {
		DataPoints             []otlpNumberPoint `json:"dataPoints"`
		AggregationTemporality jsonEnum          `json:"aggregationTemporality"`
		IsMonotonic            bool              `json:"isMonotonic"`
	} `json:"sum"`
	Histogram *struct {
		DataPoints             []otlpHistogramPoint `json:"dataPoints"`
		AggregationTemporality jsonEnum             `json:"aggregationTemporality"`
	} `json:"histogram"`
	ExponentialHistogram *struct {
		DataPoints             []otlpHistogramPoint `json:"dataPoints"`
		AggregationTemporality jsonEnum             `json:"aggregationTemporality"`
	} `json:"exponentialHistogram"`
	Summary *struct {
		DataPoints []otlpHistogramPoint `json:"dataPoints"`
	} `json:"summary"`
}

func (m *otlpMetric) points(base MetricPoint) []MetricPoint {
	var out []MetricPoint
	number := func(dps []otlpNumberPoint) {
		for _, dp := range dps {
			p := base
			p.Attributes = attrMap(dp.Attributes)
			p.Start, p.Time = dp.StartTimeUnixNano.time(), dp.TimeUnixNano.time()
			if dp.AsInt != nil {
				p.Value, p.IsInt = float64(*dp.AsInt), true
			} else if dp.AsDouble != nil {
				p.Value = float64(*dp.AsDouble)
			}
			out = append(out, p)
		}
	}
	histogram := func(dps []otlpHistogramPoint) {
		for _, dp := range dps {
			p := base
			p.Attributes = attrMap(dp.Attributes)
			p.Start, p.Time = dp.StartTimeUnixNano.time(), dp.TimeUnixNano.time()
			p.Count = uint64(dp.Count)
			if dp.Sum != nil {
				p.Value = float64(*dp.Sum)
			}
			for _, b := range dp.BucketCounts {
				p.BucketCounts = append(p.BucketCounts, uint64(b))
			}
			for _, b := range dp.ExplicitBounds {
				p.ExplicitBounds = append(p.ExplicitBounds, float64(b))
			}
			out = append(out, p)
		}
	}
	switch {
	case m.Gauge != nil:
		base.Type = "gauge"
		number(m.Gauge.DataPoints)
	case m.Sum != nil:
		base.Type, base.Temporality, base.Monotonic = "sum", m.Sum.AggregationTemporality.temporality(), m.Sum.IsMonotonic
		number(m.Sum.DataPoints)
	case m.Histogram != nil:
		base.Type, base.Temporality = "histogram", m.Histogram.AggregationTemporality.temporality()
		histogram(m.Histogram.DataPoints)
	case m.ExponentialHistogram != nil:
		base.Type, base.Temporality = "exponentialHistogram", m.ExponentialHistogram.AggregationTemporality.temporality()
		histogram(m.ExponentialHistogram.DataPoints)
	case m.Summary != nil:
		base.Type = "summary"
		histogram(m.Summary.DataPoints)
	}
	return out
}

// jsonUint64 is a uint64 that OTLP/JSON writes as a decimal string.
type jsonUint64 uint64

func (u *jsonUint64) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseUint(string(bytes.Trim(b, `"`)), 10, 64)
	*u = jsonUint64(v)
	return err
}

// time is the point in time of a *UnixNano field; 0 means unset.
func (u jsonUint64) time() time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(u))
}

// jsonInt64 is an int64 that OTLP/JSON writes as a decimal string.
type jsonInt64 int64

func (i *jsonInt64) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseInt(string(bytes.Trim(b, `"`)), 10, 64)
	*i = jsonInt64(v)
	return err
}

// jsonFloat64 accepts the strings protobuf JSON uses for non-finite doubles.
type jsonFloat64 float64

func (f *jsonFloat64) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*f = jsonFloat64(math.NaN())
		return nil
	case `"Infinity"`:
		*f = jsonFloat64(math.Inf(1))
		return nil
	case `"-Infinity"`:
		*f = jsonFloat64(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(string(bytes.Trim(b, `"`)), 64)
	*f = jsonFloat64(v)
	return err
}

// jsonEnum is a protobuf enum, written as its number or, by some encoders, its name.
type jsonEnum int32

var enumNames = map[string]int32{
	"AGGREGATION_TEMPORALITY_UNSPECIFIED": 0,
	"AGGREGATION_TEMPORALITY_DELTA":       1,
	"AGGREGATION_TEMPORALITY_CUMULATIVE":  2,
}

func (e *jsonEnum) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		name := bytes.Trim(b, `"`)
		if v, ok := enumNames[string(name)]; ok {
			*e = jsonEnum(v)
			return nil
		}
		if v, ok := severityNames[string(name)]; ok {
			*e = jsonEnum(v)
			return nil
		}
		return fmt.Errorf("unknown enum value %s", b)
	}
	v, err := strconv.ParseInt(string(b), 10, 32)
	*e = jsonEnum(v)
	return err
}

// severityNames maps SEVERITY_NUMBER_TRACE..FATAL4 to 1..24.
var severityNames = func() map[string]int32 {
	m := map[string]int32{"SEVERITY_NUMBER_UNSPECIFIED": 0}
	for i, level := range []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"} {
		m["SEVERITY_NUMBER_"+level] = int32(i*4 + 1)
		for n := 2; n <= 4; n++ {
			m["SEVERITY_NUMBER_"+level+strconv.Itoa(n)] = int32(i*4 + n)
		}
	}
	return m
}()

func (e jsonEnum) temporality() string {
	switch e {
	case 1:
		return "delta"
	case 2:
		return "cumulative"
	}
	return ""
}

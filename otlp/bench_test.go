// The export benchmarks read a real journal: the journal reader (package journald)
// and journaltest's raw sdjournal loop need libsystemd through cgo, which the otlp
// package itself does not.

//go:build cgo

package otlp

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/journald"
	"github.com/podexporter/podexporter/journald/journaltest"
	"github.com/podexporter/podexporter/journald/logparse"
	"github.com/podexporter/podexporter/logrecord"
)

// The export benchmarks run the whole log path over the journald package's cached
// 500,000-entry conmon journal: journald.Reader with the daemon's settings, the real
// LogSink and exporter, and a real Collector on the same machine, which is what the
// issue's budget (25,000 acknowledged lines/s on 2 cores) is stated for. Each
// iteration reads the whole journal; the raw sdjournal loop in the same run is the
// baseline that scripts/bench.sh divides by.

// BenchmarkExportBaselineRawSdjournal is the reference: go-systemd's sdjournal loop
// over the same journal, reading the fields any shipper needs and sending nothing.
func BenchmarkExportBaselineRawSdjournal(b *testing.B) {
	dir := journaltest.ConmonJournal(b, journaltest.BenchEntries)
	var m exportMetrics
	for b.Loop() {
		rss := sampleRSS(0)
		res, err := journaltest.ReadRaw(dir)
		if err != nil {
			b.Fatal(err)
		}
		m.add(res.Entries, res.Wall, res.CPU, 0, rss.stop())
	}
	m.report(b, false)
}

// BenchmarkExportOTLPGRPC is journal to Collector over OTLP/gRPC with gzip (the
// daemon's default), counting a line only once the Collector acknowledged its batch.
func BenchmarkExportOTLPGRPC(b *testing.B) { benchExport(b, ProtocolGRPC, "gzip") }

// BenchmarkExportOTLPHTTP is the same over OTLP/HTTP (protobuf).
func BenchmarkExportOTLPHTTP(b *testing.B) { benchExport(b, ProtocolHTTP, "gzip") }

// BenchmarkExportOTLPGRPCZstd is OTLP/gRPC with --otlp.compression=zstd.
func BenchmarkExportOTLPGRPCZstd(b *testing.B) { benchExport(b, ProtocolGRPC, "zstd") }

// BenchmarkExportOTLPHTTPZstd is OTLP/HTTP with --otlp.compression=zstd.
func BenchmarkExportOTLPHTTPZstd(b *testing.B) { benchExport(b, ProtocolHTTP, "zstd") }

// BenchmarkExportOTLPGRPCJSON is OTLP/gRPC with gzip over the journal of JSON lines,
// every line parsed (--journal.log-format=json): body, severity, time, trace context
// and typed attributes, which also make each record bigger on the wire.
func BenchmarkExportOTLPGRPCJSON(b *testing.B) {
	benchExportJournal(b, journaltest.JSONJournal(b, journaltest.BenchEntries), ProtocolGRPC, "gzip", logparse.JSON)
}

// BenchmarkExportOTLPGRPCJSONRaw is the same journal of JSON lines sent as they are,
// to tell the parsing's cost from the longer lines'.
func BenchmarkExportOTLPGRPCJSONRaw(b *testing.B) {
	benchExportJournal(b, journaltest.JSONJournal(b, journaltest.BenchEntries), ProtocolGRPC, "gzip", logparse.Raw)
}

func benchExport(b *testing.B, protocol, compression string) {
	benchExportJournal(b, journaltest.ConmonJournal(b, journaltest.BenchEntries), protocol, compression, logparse.Raw)
}

func benchExportJournal(b *testing.B, dir, protocol, compression string, format logparse.Format) {
	c := otelcoltest.StartCollector(b)
	pid := c.PID()
	if pid == 0 {
		b.Fatal("collector is not running")
	}
	endpoint := c.Endpoint(protocol)
	var m exportMetrics
	iteration := 0
	for b.Loop() {
		iteration++
		// The daemon's defaults (--otlp.timeout=10s, LogExporters exporters),
		// connections counting what they send.
		var sent atomic.Int64
		exps, err := NewLogExporters(context.Background(), Config{Endpoint: endpoint, Protocol: protocol, Compression: compression, Timeout: 10 * time.Second, dial: countingDial(&sent)}, LogExporters)
		if err != nil {
			b.Fatal(err)
		}
		logs := NewLogSink(exps[0], Host{ServiceName: "podexporter", ServiceInstanceID: "bench", HostName: "benchhost", HostID: "bench"}, quiet(), exps[1:]...)
		sink := &ackSink{next: logs, want: journaltest.BenchEntries, done: make(chan struct{})}
		// What cmd/podexporter builds with its default flags (batch size 1000, batch
		// age 1 s, 4 batches in flight, the cursor saved with fsync after every
		// acknowledged batch), starting at the head. A fresh checkpoint each time,
		// or the next iteration would resume at the end.
		r, err := journald.NewReader(journald.Config{
			Directory:      dir,
			Start:          journald.StartHead,
			MaxLineBytes:   1 << 20,
			PartialTimeout: 2 * time.Second,
			BatchSize:      1000,
			BatchAge:       time.Second,
			Checkpoint:     journald.NewCheckpoint(filepath.Join(b.TempDir(), fmt.Sprintf("journal-%d.cursor", iteration))),
			Format:         format,
			Sink:           sink,
			Logger:         quiet(),
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		rss := sampleRSS(pid)
		cc0 := procCPU(b, pid)
		t0, c0 := time.Now(), journaltest.CPUTime()
		go func() { errc <- r.Run(ctx, nil) }()
		select {
		case <-sink.done:
		case err := <-errc:
			b.Fatalf("reader stopped after %d acknowledged lines: %v", sink.acked.Load(), err)
		case <-time.After(10 * time.Minute):
			b.Fatalf("only %d of %d lines acknowledged after 10 minutes", sink.acked.Load(), sink.want)
		}
		wall, cpu := time.Since(t0), journaltest.CPUTime()-c0
		collectorCPU := procCPU(b, pid) - cc0
		peaks := rss.stop()
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		if err := logs.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		// Rejected batches are acknowledged too (so that they cannot stall the
		// pipeline); a run with any is not a throughput measurement.
		if st := logs.Stats(); st.Sent != uint64(sink.want) || st.Rejected != 0 || st.Failed != 0 {
			b.Fatalf("export stats %+v, want exactly %d sent and no failures", st, sink.want)
		}
		m.add(int(sink.acked.Load()), wall, cpu, collectorCPU, peaks)
		m.sent += sent.Load()
	}
	m.report(b, true)
}

// ackSink counts the lines the wrapped sink acknowledged: Deliver returning nil is
// the Collector's acceptance, and what lets the reader save its cursor.
type ackSink struct {
	next  logrecord.Sink
	want  int64
	acked atomic.Int64
	once  sync.Once
	done  chan struct{}
}

func (s *ackSink) Deliver(ctx context.Context, recs []logrecord.Record) error {
	if err := s.next.Deliver(ctx, recs); err != nil {
		return err
	}
	if s.acked.Add(int64(len(recs))) >= s.want {
		s.once.Do(func() { close(s.done) })
	}
	return nil
}

// exportMetrics sums iterations for the reported metrics.
type exportMetrics struct {
	lines           int
	wall, cpu, ccpu time.Duration
	// sent is what the exporter wrote to its connections, in bytes.
	sent            int64
	rss, anon, crss int64
}

func (m *exportMetrics) add(lines int, wall, cpu, collectorCPU time.Duration, p rssPeaks) {
	m.lines += lines
	m.wall += wall
	m.cpu += cpu
	m.ccpu += collectorCPU
	m.rss, m.anon, m.crss = max(m.rss, p.self), max(m.anon, p.selfAnon), max(m.crss, p.other)
}

func (m *exportMetrics) report(b *testing.B, collector bool) {
	if m.lines == 0 {
		return
	}
	const mib = 1 << 20
	perLine := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(m.lines) / 1000 }
	b.ReportMetric(float64(m.lines)/m.wall.Seconds(), "lines/s")
	b.ReportMetric(perLine(m.cpu), "cpu-us/line")
	// VmRSS counts the journal files libsystemd has mapped (page cache the kernel can
	// take back); RssAnon is the process's own memory.
	b.ReportMetric(float64(m.rss)/mib, "rss-MiB")
	b.ReportMetric(float64(m.anon)/mib, "anon-MiB")
	if collector {
		b.ReportMetric(perLine(m.ccpu), "collector-cpu-us/line")
		b.ReportMetric(float64(m.crss)/mib, "collector-rss-MiB")
		b.ReportMetric(float64(m.sent)/float64(m.lines), "sent-bytes/line")
	}
}

// rssPeaks are the highest resident sizes seen, in bytes: this process's VmRSS and
// RssAnon, and the other process's VmRSS.
type rssPeaks struct{ self, selfAnon, other int64 }

type rssSampler struct {
	stopc chan struct{}
	done  chan rssPeaks
}

// sampleRSS polls /proc every 20 ms until stop: VmHWM would be process-wide peaks
// since start (journal building, earlier benchmarks), not this run's. pid is the
// other process to watch, 0 for none.
func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stopc: make(chan struct{}), done: make(chan rssPeaks, 1)}
	other := ""
	if pid != 0 {
		other = fmt.Sprintf("/proc/%d/status", pid)
	}
	go func() {
		var p rssPeaks
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			st := procStatus("/proc/self/status")
			p.self, p.selfAnon = max(p.self, st["VmRSS"]), max(p.selfAnon, st["RssAnon"])
			if other != "" {
				p.other = max(p.other, procStatus(other)["VmRSS"])
			}
			select {
			case <-s.stopc:
				s.done <- p
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() rssPeaks {
	close(s.stopc)
	return <-s.done
}

// procStatus reads the kB sizes of a /proc/<pid>/status file, in bytes; empty when
// the process is gone.
func procStatus(path string) map[string]int64 {
	out := map[string]int64{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	for line := range bytes.Lines(b) {
		k, v, ok := strings.Cut(string(line), ":")
		f := strings.Fields(v)
		if !ok || len(f) != 2 || f[1] != "kB" {
			continue
		}
		if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			out[k] = n << 10
		}
	}
	return out
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times, 100 on every Linux
// architecture Go supports.
const clockTick = 10 * time.Millisecond

// procCPU is another process's CPU time so far, user plus system, all threads.
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("collector CPU: %v", err)
	}
	// The command name may hold spaces and parentheses: fields count from after
	// its closing parenthesis, where field 3 (state) begins.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		b.Fatalf("collector CPU: short /proc/%d/stat: %q", pid, s)
	}
	utime, err1 := strconv.ParseInt(f[14-3], 10, 64)
	stime, err2 := strconv.ParseInt(f[15-3], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("collector CPU: /proc/%d/stat: %q", pid, s)
	}
	return time.Duration(utime+stime) * clockTick
}

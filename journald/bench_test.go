package journald

import (
	"context"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/journald/journaltest"
	"github.com/podexporter/podexporter/journald/logparse"
	"github.com/podexporter/podexporter/journald/multiline"
	"github.com/podexporter/podexporter/logrecord"
)

const benchEntries = journaltest.BenchEntries

// benchJournal returns the cached conmon-shaped journal of benchEntries entries,
// shared with the otlp benchmarks.
func benchJournal(b *testing.B) string {
	b.Helper()
	return journaltest.ConmonJournal(b, benchEntries)
}

func cpuTime() time.Duration { return journaltest.CPUTime() }

func report(b *testing.B, entries int, wall, cpu time.Duration) {
	b.ReportMetric(float64(entries)/wall.Seconds(), "entries/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(entries)/1000, "cpu-us/entry")
}

// BenchmarkReadBaselineRawSdjournal is the reference: go-systemd's sdjournal
// reading what any shipper needs (MESSAGE, PRIORITY, container id and name,
// realtime, cursor) from every entry, with no records built.
func BenchmarkReadBaselineRawSdjournal(b *testing.B) {
	dir := benchJournal(b)
	var wall, cpu time.Duration
	n := 0
	for b.Loop() {
		res, err := journaltest.ReadRaw(dir)
		if err != nil {
			b.Fatal(err)
		}
		n, wall, cpu = n+res.Entries, wall+res.Wall, cpu+res.CPU
	}
	report(b, n, wall, cpu)
}

// noop acknowledges every batch and counts records.
type noop struct {
	mu   sync.Mutex
	n    int
	done chan struct{}
	want int
}

func (s *noop) Deliver(_ context.Context, recs []logrecord.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n += len(recs)
	if s.n >= s.want && s.done != nil {
		close(s.done)
		s.done = nil
	}
	return nil
}

// BenchmarkReadReader is the reader, records and a no-op sink over the same
// journal: everything but the sink's own work. No container asks for a log format
// or a multiline rule, which is the default.
func BenchmarkReadReader(b *testing.B) { benchReader(b) }

// BenchmarkReadReaderFreshZstdContexts is the same with libsystemd creating a zstd
// context per compressed field, as it does without podexporter's kept one: what
// keeping it saves, measured in the same run.
func BenchmarkReadReaderFreshZstdContexts(b *testing.B) {
	keepZstdContext(false)
	defer keepZstdContext(true)
	benchReader(b)
}

// BenchmarkReadReaderNoZstdResults is the same with every compressed field
// decompressed by libzstd, none answered from the kept results: what keeping them
// saves, measured in the same run.
func BenchmarkReadReaderNoZstdResults(b *testing.B) {
	keepZstdResults(false)
	defer keepZstdResults(true)
	benchReader(b)
}

// BenchmarkReadReaderJSON reads the journal of JSON lines with --journal.log-format=
// json: every line parsed into body, severity, time, trace context and attributes.
func BenchmarkReadReaderJSON(b *testing.B) {
	benchRead(b, journaltest.JSONJournal(b, benchEntries), Config{Format: logparse.JSON})
}

// BenchmarkReadReaderJSONRaw reads the same journal without parsing: the cost of
// the longer lines alone, for BenchmarkReadReaderJSON to be compared with.
func BenchmarkReadReaderJSONRaw(b *testing.B) {
	benchRead(b, journaltest.JSONJournal(b, benchEntries), Config{})
}

// BenchmarkReadReaderMultilineGo reads the conmon journal with the go multiline
// rule on every container: each line is held as a record of its own until the next
// one shows it continues nothing, which is the rule's cost on ordinary lines.
func BenchmarkReadReaderMultilineGo(b *testing.B) {
	rule, err := multiline.Parse("go")
	if err != nil {
		b.Fatal(err)
	}
	// A short timeout, so that the last line of each stream does not wait a second
	// of wall clock at the end; while behind it is measured in journal time, and a
	// container's entries are 15 us apart.
	benchRead(b, benchJournal(b), Config{Multiline: rule, MultilineTimeout: time.Millisecond})
}

func benchReader(b *testing.B) { benchRead(b, benchJournal(b), Config{}) }

func benchRead(b *testing.B, dir string, cfg Config) {
	cfg.Directory, cfg.Start = dir, StartHead
	var wall, cpu time.Duration
	n := 0
	for b.Loop() {
		w, c := readTimed(b, cfg, benchEntries, func(*Reader) {})
		n, wall, cpu = n+benchEntries, wall+w, cpu+c
	}
	report(b, n, wall, cpu)
}

// readTimed runs a reader, set up by tweak, into a no-op sink until want records
// arrived, and returns the wall and CPU time that took.
func readTimed(b *testing.B, cfg Config, want int, tweak func(*Reader)) (time.Duration, time.Duration) {
	sink := &noop{done: make(chan struct{}), want: want}
	done := sink.done
	cfg.Sink = sink
	r, err := NewReader(cfg)
	if err != nil {
		b.Fatal(err)
	}
	tweak(r)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	t0, c0 := time.Now(), cpuTime()
	go func() { errc <- r.Run(ctx, nil) }()
	select {
	case <-done:
	case err := <-errc:
		b.Fatalf("reader stopped: %v", err)
	}
	wall, cpu := time.Since(t0), cpuTime()-c0
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	if sink.n != want {
		b.Fatalf("delivered %d records, want %d", sink.n, want)
	}
	return wall, cpu
}

// latencySink records, for each line, how long after conmon wrote it the sink
// received it.
type latencySink struct {
	mu          sync.Mutex
	lat         []time.Duration
	first, last time.Time
}

func (s *latencySink) Deliver(_ context.Context, recs []logrecord.Record) error {
	now := time.Now()
	s.mu.Lock()
	for _, r := range recs {
		s.lat = append(s.lat, now.Sub(r.Time))
		if s.first.IsZero() {
			s.first = r.Time
		}
		s.last = r.Time
	}
	s.mu.Unlock()
	return nil
}

// BenchmarkLatencyLive measures journal-to-sink latency on the real journald
// while a container writes about 2,000 lines a second.
func BenchmarkLatencyLive(b *testing.B) {
	testenv.RequireJournald(b)
	p := testenv.RequirePodman(b)
	for b.Loop() {
		name := testenv.UniqueName("latency")
		sink := &latencySink{}
		r, err := NewReader(Config{IncludeContainer: regexp.MustCompile("^" + name + "$"), Sink: sink})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		started := make(chan struct{})
		go func() { errc <- r.Run(ctx, func() { close(started) }) }()
		<-started
		// 110 lines every 50 ms for about 5 s: the shell loop costs a little.
		p.Run(b, name, nil, "sh", "-c", "i=0; while [ $i -lt 100 ]; do busybox seq 1 110; busybox usleep 50000; i=$((i+1)); done")
		podmanWait(b, name)
		time.Sleep(time.Second)
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		p.Remove(name)
		lat := slices.Clone(sink.lat)
		if len(lat) < 11000 {
			b.Fatalf("only %d of 11000 lines arrived", len(lat))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(len(lat))/sink.last.Sub(sink.first).Seconds(), "lines/s")
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
	}
}

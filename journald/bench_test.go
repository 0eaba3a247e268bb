package journald

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/sdjournal"

	"github.com/podexporter/podexporter/internal/testenv"
)

const benchEntries = 500000

// benchJournal returns a directory holding a journal of benchEntries entries
// shaped like conmon's (with its ~1.6 KB _CMDLINE), built once and kept under
// the temporary directory, since building it takes a while.
func benchJournal(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("podexporter-bench-conmon-%d-v1", benchEntries))
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(journalRemote, "-o", filepath.Join(dir, "bench.journal"), "-")
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if out, err := os.Create(filepath.Join(dir, "journal-remote.log")); err == nil {
		cmd.Stdout, cmd.Stderr = out, out
		defer out.Close()
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(in, 1<<20)
	ids := []string{idWeb, idDB, "cccccccccccc3333333333333333333333333333333333333333333333333333"}
	names := []string{"web", "db", "worker"}
	cmdlines := []string{cmdline(ids[0]), cmdline(ids[1]), cmdline(ids[2])}
	start := time.Now().Add(-time.Hour)
	for i := range benchEntries {
		c := i % 3
		t := start.Add(time.Duration(i) * 5 * time.Microsecond)
		prio := "6"
		if i%10 == 0 {
			prio = "3"
		}
		fmt.Fprintf(w, "__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n_MACHINE_ID=3d1219c7c4c5404aaa1f6d2a48adfda4\n_HOSTNAME=benchhost\n"+
			"PRIORITY=%s\n_UID=0\n_GID=0\n_CAP_EFFECTIVE=1fffeffffff\n_TRANSPORT=journal\nCODE_FILE=src/ctr_logging.c\nCODE_LINE=326\nCODE_FUNC=write_journald\n"+
			"_COMM=conmon\n_EXE=/usr/bin/conmon\nMESSAGE=%s line %d: GET /api/v1/items?page=%d 200 1532 bytes in 3ms\nCONTAINER_ID_FULL=%s\nCONTAINER_ID=%s\n"+
			"CONTAINER_NAME=%s\nSYSLOG_IDENTIFIER=%s\n_PID=%d\n_CMDLINE=%s\n_SOURCE_REALTIME_TIMESTAMP=%d\n\n",
			t.UnixMicro(), 1000000+i*5, bootA, prio, names[c], i, i%97, ids[c], ids[c][:12], names[c], names[c], 4000+c, cmdlines[c], t.UnixMicro()-200)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		b.Fatalf("systemd-journal-remote: %v (log in %s)", err, dir)
	}
	if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

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
		j, err := sdjournal.NewJournalFromDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		if err := j.SetDataThreshold(0); err != nil {
			b.Fatal(err)
		}
		if err := j.AddMatch("_COMM=conmon"); err != nil {
			b.Fatal(err)
		}
		if err := j.SeekHead(); err != nil {
			b.Fatal(err)
		}
		t0, c0 := time.Now(), cpuTime()
		for {
			r, err := j.Next()
			if err != nil {
				b.Fatal(err)
			}
			if r == 0 {
				break
			}
			for _, f := range []string{"MESSAGE", "PRIORITY", "CONTAINER_ID_FULL", "CONTAINER_NAME"} {
				if _, err := j.GetDataValue(f); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := j.GetRealtimeUsec(); err != nil {
				b.Fatal(err)
			}
			if _, err := j.GetCursor(); err != nil {
				b.Fatal(err)
			}
			n++
		}
		wall, cpu = wall+time.Since(t0), cpu+cpuTime()-c0
		j.Close()
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

func (s *noop) Deliver(_ context.Context, recs []Record) error {
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
// journal: everything but the sink's own work.
func BenchmarkReadReader(b *testing.B) {
	dir := benchJournal(b)
	var wall, cpu time.Duration
	n := 0
	for b.Loop() {
		sink := &noop{done: make(chan struct{}), want: benchEntries}
		done := sink.done
		r, err := NewReader(Config{Directory: dir, Start: StartHead, Sink: sink})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		t0, c0 := time.Now(), cpuTime()
		go func() { errc <- r.Run(ctx, nil) }()
		select {
		case <-done:
		case err := <-errc:
			b.Fatalf("reader stopped: %v", err)
		}
		wall, cpu = wall+time.Since(t0), cpu+cpuTime()-c0
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		n += benchEntries
	}
	report(b, n, wall, cpu)
}

// latencySink records, for each line, how long after conmon wrote it the sink
// received it.
type latencySink struct {
	mu          sync.Mutex
	lat         []time.Duration
	first, last time.Time
}

func (s *latencySink) Deliver(_ context.Context, recs []Record) error {
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

package journald

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/logrecord"
)

// journalCount counts entries with journalctl, the independent reference.
func journalCount(t testing.TB, matches ...string) int {
	t.Helper()
	args := append([]string{"--no-pager", "-o", "json", "--output-fields=MESSAGE"}, matches...)
	out, err := exec.Command("journalctl", args...).Output()
	if err != nil {
		t.Fatalf("journalctl %v: %v", args, err)
	}
	return bytes.Count(out, []byte("\n"))
}

// journalHas reports whether journalctl shows the container line msg.
func journalHas(t testing.TB, name, msg string) bool {
	t.Helper()
	for _, l := range testenv.Journal(t, "CONTAINER_NAME="+name) {
		if l == msg {
			return true
		}
	}
	return false
}

func podmanWait(t testing.TB, name string) {
	t.Helper()
	if out, err := exec.Command("podman", "wait", name).CombinedOutput(); err != nil {
		t.Fatalf("podman wait %s: %v: %s", name, err, out)
	}
}

// liveReader runs a reader on the local journal until the test ends.
type liveReader struct {
	r      *Reader
	sink   *collect
	cancel context.CancelFunc
	done   chan error
}

func startLive(t *testing.T, cfg Config, sink logrecord.Sink) *liveReader {
	t.Helper()
	cfg.Sink = sink
	r, err := NewReader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return runLive(t, r, sink)
}

// runLive runs r, whose sink is sink, until the test ends.
func runLive(t *testing.T, r *Reader, sink logrecord.Sink) *liveReader {
	t.Helper()
	c, _ := sink.(*collect)
	ctx, cancel := context.WithCancel(context.Background())
	l := &liveReader{r: r, sink: c, cancel: cancel, done: make(chan error, 1)}
	started := make(chan struct{})
	go func() { l.done <- r.Run(ctx, func() { close(started) }) }()
	select {
	case <-started:
	case err := <-l.done:
		t.Fatalf("reader: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("reader did not start")
	}
	t.Cleanup(func() { l.stop(t) })
	return l
}

func (l *liveReader) stop(t *testing.T) {
	if l.cancel == nil {
		return
	}
	l.cancel()
	l.cancel = nil
	if err := <-l.done; err != nil {
		t.Errorf("reader: %v", err)
	}
}

func bodies(recs []logrecord.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Body
	}
	return out
}

func TestLiveContainerLines(t *testing.T) {
	testenv.RequireJournald(t)
	p := testenv.RequirePodman(t)
	name := testenv.UniqueName("lines")
	l := startLive(t, Config{IncludeContainer: regexp.MustCompile("^" + name + "$"), PartialTimeout: time.Second}, &collect{})
	p.Run(t, name, nil, "sh", "-c", `busybox seq 1 500; busybox yes x | busybox head -c 40000 | busybox tr -d '\n'; echo; echo to-stderr >&2`)
	podmanWait(t, name)

	var entries, pieces int
	testenv.Eventually(t, 20*time.Second, "journalctl to show the stderr line", func() bool {
		return journalHas(t, name, "to-stderr")
	})
	entries = journalCount(t, "CONTAINER_NAME="+name)
	pieces = journalCount(t, "CONTAINER_NAME="+name, "CONTAINER_PARTIAL_MESSAGE=true")
	if pieces == 0 {
		t.Fatalf("conmon split no line; the 20000-byte line should come in pieces")
	}
	want := entries - pieces
	testenv.Eventually(t, 20*time.Second, "the reader to deliver every line", func() bool { return len(l.sink.get()) >= want })
	l.stop(t)
	got := l.sink.get()
	if len(got) != want {
		t.Fatalf("delivered %d lines; journalctl has %d entries of which %d are non-final pieces", len(got), entries, pieces)
	}
	// What the container wrote, independently of the journal.
	b := bodies(got)
	for i := range 500 {
		if b[i] != strconv.Itoa(i+1) {
			t.Fatalf("line %d is %q, want %d", i, b[i], i+1)
		}
	}
	// conmon reads stdout and stderr apart, so the stderr line may come first.
	long, stderr := got[500], got[501]
	if stderr.Stream == "stdout" {
		long, stderr = stderr, long
	}
	if long.Body != strings.Repeat("x", 20000) || long.Stream != "stdout" {
		t.Errorf("long line: %d bytes on %s, want 20000 x on stdout", len(long.Body), long.Stream)
	}
	if long.Pieces != pieces+1 {
		t.Errorf("long line from %d pieces, journalctl shows %d partial + 1", long.Pieces, pieces)
	}
	if stderr.Body != "to-stderr" || stderr.Stream != "stderr" || stderr.Severity != 17 {
		t.Errorf("stderr line: %.40q stream %s severity %d", stderr.Body, stderr.Stream, stderr.Severity)
	}
	if got[0].Stream != "stdout" || got[0].ContainerName != name || len(got[0].ContainerIDFull) != 64 || got[0].Hostname == "" || got[0].BootID == "" {
		t.Errorf("first record fields: name %q id %q host %q boot %q stream %q", got[0].ContainerName, got[0].ContainerIDFull, got[0].Hostname, got[0].BootID, got[0].Stream)
	}
}

func TestLiveResumeAfterCleanStop(t *testing.T) {
	testenv.RequireJournald(t)
	p := testenv.RequirePodman(t)
	prefix := testenv.UniqueName("resume")
	cp := NewCheckpoint(filepath.Join(t.TempDir(), "cursor"))
	cfg := Config{IncludeContainer: regexp.MustCompile("^" + prefix), Checkpoint: cp, BatchSize: 7}

	l := startLive(t, cfg, &collect{})
	p.Run(t, prefix+"-1", nil, "busybox", "seq", "1", "100")
	podmanWait(t, prefix+"-1")
	testenv.Eventually(t, 20*time.Second, "100 lines", func() bool { return len(l.sink.get()) >= 100 })
	l.stop(t)

	p.Run(t, prefix+"-2", nil, "busybox", "seq", "101", "200")
	podmanWait(t, prefix+"-2")
	testenv.Eventually(t, 20*time.Second, "journalctl to show line 200", func() bool {
		return journalHas(t, prefix+"-2", "200")
	})
	l2 := startLive(t, cfg, &collect{})
	testenv.Eventually(t, 20*time.Second, "100 more lines", func() bool { return len(l2.sink.get()) >= 100 })
	time.Sleep(500 * time.Millisecond) // room for a wrong extra line to show
	l2.stop(t)
	got := bodies(l2.sink.get())
	if len(got) != 100 || got[0] != "101" || got[99] != "200" {
		t.Fatalf("second run delivered %d lines from %q to %q; want 101..200 exactly", len(got), got[0], got[len(got)-1])
	}
}

// gate is a sink that holds every delivery until opened, so the reader falls
// behind the journal as a reader with a slow receiver does.
type gate struct {
	collect
	open chan struct{}
}

func (g *gate) Deliver(ctx context.Context, recs []logrecord.Record) error {
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.collect.Deliver(ctx, recs)
}

// TestLiveRotateVacuum rotates and vacuums the journal while the reader is
// behind: lines in a file it never opened are lost, and the reader must count
// the gap and go on with what comes after.
func TestLiveRotateVacuum(t *testing.T) {
	testenv.RequireJournaldExclusive(t)
	p := testenv.RequirePodman(t)
	prefix := testenv.UniqueName("vacuum")
	g := &gate{open: make(chan struct{})}
	l := startLive(t, Config{IncludeContainer: regexp.MustCompile("^" + prefix), BatchSize: 100, InFlight: 1}, g)

	journalctl := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("journalctl", args...).CombinedOutput(); err != nil {
			t.Fatalf("journalctl %v: %v: %s", args, err, out)
		}
	}
	write := func(n string, from, to int) {
		t.Helper()
		p.Run(t, prefix+"-"+n, nil, "busybox", "seq", strconv.Itoa(from), strconv.Itoa(to))
		podmanWait(t, prefix+"-"+n)
		testenv.Eventually(t, 20*time.Second, "journalctl to show line "+strconv.Itoa(to), func() bool {
			return journalHas(t, prefix+"-"+n, strconv.Itoa(to))
		})
	}
	write("1", 1, 2000)
	journalctl("--rotate")
	write("2", 2001, 4000) // into a file the stalled reader has not opened
	journalctl("--rotate")
	time.Sleep(1100 * time.Millisecond)
	journalctl("--vacuum-time=1s")
	close(g.open)
	write("3", 4001, 4100)
	testenv.Eventually(t, 30*time.Second, "line 4100", func() bool {
		got := g.get()
		return len(got) > 0 && got[len(got)-1].Body == "4100"
	})
	l.stop(t)
	s := l.r.Stats()
	if s.Gaps == 0 {
		t.Errorf("no gap counted after rotate and vacuum")
	}
	seen := map[string]bool{}
	for _, b := range bodies(g.get()) {
		seen[b] = true
	}
	lost := 0
	for i := 2001; i <= 4000; i++ {
		if !seen[strconv.Itoa(i)] {
			lost++
		}
	}
	if s.GapEntries < uint64(lost) {
		t.Errorf("gap counts %d entries, but %d lines were lost", s.GapEntries, lost)
	}
	for i := 4001; i <= 4100; i++ {
		if !seen[strconv.Itoa(i)] {
			t.Fatalf("line %d written after the vacuum is missing: reading did not go on", i)
		}
	}
	t.Logf("gaps %d, gap entries %d, lines lost %d of the 2000 in the vacuumed file", s.Gaps, s.GapEntries, lost)
}

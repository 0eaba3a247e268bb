package journald

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/podexporter/podexporter/logrecord"
)

// gatedSink is a PipelinedSink whose deliveries finish when the test says: each
// Deliver announces its batch (the first record's body) and waits for its outcome.
type gatedSink struct {
	depth   int
	started chan string
	mu      sync.Mutex
	gates   map[string]chan error
	running int
	maxRun  int
}

func newGatedSink(depth int) *gatedSink {
	return &gatedSink{depth: depth, started: make(chan string, 16), gates: map[string]chan error{}}
}

func (s *gatedSink) Pipeline() int { return s.depth }

func (s *gatedSink) gate(name string) chan error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.gates[name]
	if g == nil {
		g = make(chan error, 1)
		s.gates[name] = g
	}
	return g
}

func (s *gatedSink) Deliver(ctx context.Context, recs []logrecord.Record) error {
	name := recs[0].Body
	s.mu.Lock()
	s.running++
	s.maxRun = max(s.maxRun, s.running)
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.running--; s.mu.Unlock() }()
	s.started <- name
	select {
	case err := <-s.gate(name):
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *gatedSink) finish(name string, err error) { s.gate(name) <- err }

func (s *gatedSink) stillRunning() int { s.mu.Lock(); defer s.mu.Unlock(); return s.running }

// cursorN is a well-formed cursor for the n-th entry.
func cursorN(n int) string {
	return fmt.Sprintf("s=0123456789abcdef0123456789abcdef;i=%x;b=0123456789abcdef0123456789abcdef;m=%x;t=%x;x=%x", n, n, n, n)
}

// pipelineReader runs deliver over batches b1..bn on a gated sink, returning the
// batch channel, deliver's result and the checkpoint.
func pipelineReader(t *testing.T, sink *gatedSink, ctx context.Context, n int) (*Reader, <-chan error, *Checkpoint) {
	t.Helper()
	cp := NewCheckpoint(filepath.Join(t.TempDir(), "cursor"))
	r, err := NewReader(Config{Sink: sink, Checkpoint: cp, Directory: "/nonexistent"})
	if err != nil {
		t.Fatal(err)
	}
	batches := make(chan batch, n)
	for i := 1; i <= n; i++ {
		batches <- batch{records: []logrecord.Record{{Body: fmt.Sprintf("b%d", i)}}, cursor: cursorN(i)}
	}
	close(batches)
	done := make(chan error, 1)
	go func() { done <- r.deliver(ctx, batches) }()
	return r, done, cp
}

// waitStarted waits for the sink to get the batches named, in any order: batches in
// flight together start concurrently.
func waitStarted(t *testing.T, s *gatedSink, want ...string) {
	t.Helper()
	pending := map[string]bool{}
	for _, w := range want {
		pending[w] = true
	}
	for len(pending) > 0 {
		select {
		case got := <-s.started:
			if !pending[got] {
				t.Fatalf("sink got %s, want one of %v", got, pending)
			}
			delete(pending, got)
		case <-time.After(5 * time.Second):
			t.Fatalf("%v not handed to the sink", pending)
		}
	}
}

func saved(t *testing.T, cp *Checkpoint) string {
	t.Helper()
	c, err := cp.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPipelinedDeliveryAcksInOrder: several batches are in the sink at once, but
// no more than the sink's depth, and a cursor is saved only once its batch and
// every batch before it were accepted, though later ones finished first.
func TestPipelinedDeliveryAcksInOrder(t *testing.T) {
	sink := newGatedSink(3)
	r, done, cp := pipelineReader(t, sink, context.Background(), 5)
	waitStarted(t, sink, "b1", "b2", "b3")
	select {
	case b := <-sink.started:
		t.Fatalf("%s handed to the sink with 3 in flight at depth 3", b)
	case <-time.After(100 * time.Millisecond):
	}
	sink.finish("b3", nil)
	sink.finish("b2", nil)
	time.Sleep(100 * time.Millisecond)
	if c := saved(t, cp); c != "" || r.Stats().CursorCommits != 0 {
		t.Fatalf("cursor %q saved while b1 was still in the sink", c)
	}
	sink.finish("b1", nil)
	waitStarted(t, sink, "b4", "b5")
	deadline := time.Now().Add(5 * time.Second)
	for saved(t, cp) != cursorN(3) {
		if time.Now().After(deadline) {
			t.Fatalf("cursor %q after b1..b3 were accepted, want b3's", saved(t, cp))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// b5 accepted, b4 given up on: nothing past b3 may be saved.
	sink.finish("b5", nil)
	sink.finish("b4", errors.New("receiver gone for good"))
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("deliver returned nil after the sink gave up on b4")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("deliver did not return after the sink gave up")
	}
	if c := saved(t, cp); c != cursorN(3) {
		t.Fatalf("cursor %q, want b3's: b4 was never accepted", c)
	}
	if st := r.Stats(); st.CursorCommits != 3 || st.RecordsDelivered != 3 || sink.maxRun != 3 {
		t.Fatalf("commits %d, delivered %d, at most %d in the sink; want 3, 3, 3", st.CursorCommits, st.RecordsDelivered, sink.maxRun)
	}
}

// TestPipelinedDeliveryStops: when ctx ends, what was accepted before is saved, what
// was in flight is not, and deliver returns only once the sink let go of every batch.
func TestPipelinedDeliveryStops(t *testing.T) {
	sink := newGatedSink(2)
	ctx, cancel := context.WithCancel(context.Background())
	_, done, cp := pipelineReader(t, sink, ctx, 4)
	waitStarted(t, sink, "b1", "b2")
	sink.finish("b1", nil)
	waitStarted(t, sink, "b3")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("deliver = %v on shutdown, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("deliver did not return after ctx ended")
	}
	if n := sink.stillRunning(); n != 0 {
		t.Fatalf("%d deliveries still running after deliver returned", n)
	}
	if c := saved(t, cp); c != cursorN(1) {
		t.Fatalf("cursor %q, want b1's", c)
	}
}

package journald

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWaitCtxPolls: after the first wait, waits park in Go's poller on libsystemd's
// descriptor: a new file ends one at once, and a cancelled context ends one
// without waiting out its timeout.
func TestWaitCtxPolls(t *testing.T) {
	dir := t.TempDir()
	writeNamesFile(t, filepath.Join(dir, "a.journal"), 0, "x")
	j, err := openJournal(location{Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	ctx := context.Background()
	if _, err := j.waitCtx(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if j.poll == nil {
		t.Fatal("the journal's descriptor is not in Go's poller")
	}

	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(100*time.Millisecond, cancel)
	t0 := time.Now()
	res, err := j.waitCtx(cctx, 10*time.Second)
	if err != nil || res != waitNop {
		t.Fatalf("cancelled wait: %d, %v; want nothing changed, no error", res, err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Fatalf("a cancelled wait took %s", d)
	}

	tmp := t.TempDir()
	writeNamesFile(t, filepath.Join(tmp, "b.journal"), 10, "y")
	time.AfterFunc(100*time.Millisecond, func() { os.Rename(filepath.Join(tmp, "b.journal"), filepath.Join(dir, "b.journal")) })
	t0 = time.Now()
	for res = waitNop; res == waitNop && time.Since(t0) < 10*time.Second; {
		if res, err = j.waitCtx(ctx, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if res != waitInvalidate {
		t.Fatalf("wait after a new file: %d, want an invalidation", res)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("a new file ended the wait only after %s", d)
	}
}

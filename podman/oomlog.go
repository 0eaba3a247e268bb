package podman

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// OOMLog follows the kernel log for memory-cgroup OOM kills and remembers which
// container cgroups they hit. It is the exact answer to "was this container
// OOM-killed?" where Podman has none (cgroup v1 memory on hybrid hosts); it needs
// read access to /dev/kmsg (root or CAP_SYSLOG), and without it the engine falls back
// to the kernel's global oom_kill counter.
type OOMLog struct {
	mu     sync.Mutex
	killed map[string]time.Time // full container id -> when the kill was logged
}

// The kernel's oom-kill summary line names the victim's memory cgroup; Podman names
// container cgroups libpod-<id> (cgroupfs) or libpod-<id>.scope (systemd).
var oomLine = regexp.MustCompile(`oom-kill:.*task_memcg=[^,]*libpod-([0-9a-f]{64})`)

// NewOOMLog returns an empty log; Run fills it.
func NewOOMLog() *OOMLog { return &OOMLog{killed: map[string]time.Time{}} }

// Killed reports whether the kernel logged an OOM kill in the container's cgroup.
func (l *OOMLog) Killed(id string) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.killed[id]
	return ok
}

// ForgetBefore drops a kill logged before t: for a container started again at t it
// belongs to the previous run. A kill after t stays, even while Podman still says
// "running": the log line can beat Podman's own notice of the exit.
func (l *OOMLog) ForgetBefore(id string, t time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	if at, ok := l.killed[id]; ok && at.Before(t) {
		delete(l.killed, id)
	}
	l.mu.Unlock()
}

// Run reads /dev/kmsg from its end until ctx ends. It returns at once, with the
// reason, when the kernel log cannot be read.
func (l *OOMLog) Run(ctx context.Context, logger *slog.Logger) error {
	// Non-blocking, so the runtime poller owns the fd and Close interrupts Read.
	f, err := os.OpenFile("/dev/kmsg", os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return err
	}
	go func() { <-ctx.Done(); f.Close() }()
	r := bufio.NewReaderSize(f, 8192)
	for {
		// Each read returns one record; a record longer than the buffer is skipped.
		line, err := r.ReadSlice('\n')
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
				return nil
			}
			if errors.Is(err, syscall.EPIPE) { // records overwritten while we lagged
				continue
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			return err
		}
		if m := oomLine.FindSubmatch(line); m != nil {
			l.mu.Lock()
			l.killed[string(m[1])] = time.Now()
			if len(l.killed) > 10000 { // bounded: forget the oldest half
				cut := time.Now().Add(-time.Hour)
				for id, at := range l.killed {
					if at.Before(cut) {
						delete(l.killed, id)
					}
				}
			}
			l.mu.Unlock()
			logger.Debug("kernel OOM kill in a container", "id", string(m[1]))
		}
	}
}

package journald

/*
#cgo pkg-config: libsystemd
#include <time.h>
#include <systemd/sd-journal.h>
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// waitCtx blocks up to d, or until ctx ends, for the journal to change. Its first
// call sets up libsystemd's watches (sd_journal_wait without waiting, which also
// says whether the journal changed since it was opened); later calls wait on the
// watches' descriptor in Go's poller and let sd_journal_process read it. Where that
// descriptor cannot be polled, it waits in sd_journal_wait for at most
// waitTimeout, so that ctx is looked at in between.
func (j *journal) waitCtx(ctx context.Context, d time.Duration) (int, error) {
	if !j.pollTried {
		j.pollTried = true
		res, err := j.wait(0)
		if err == nil {
			j.setupPoll()
		}
		return res, err
	}
	if j.pollConn == nil {
		return j.wait(min(d, waitTimeout))
	}
	// On network file systems inotify misses changes, and libsystemd asks for a
	// look at least this often.
	var until C.uint64_t
	if r := C.sd_journal_get_timeout(j.j, &until); r >= 0 && until != C.uint64_t(1<<64-1) {
		var now C.struct_timespec
		C.clock_gettime(C.CLOCK_MONOTONIC, &now)
		mono := uint64(now.tv_sec)*1e6 + uint64(now.tv_nsec)/1e3
		d = min(d, time.Duration(max(0, int64(uint64(until)-min(uint64(until), mono))))*time.Microsecond)
	}
	if err := j.poll.SetReadDeadline(time.Now().Add(d)); err != nil {
		return 0, fmt.Errorf("wait for journal: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { j.poll.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var res C.int
	err := j.pollConn.Read(func(uintptr) bool {
		res = C.sd_journal_process(j.j)
		return res != C.SD_JOURNAL_NOP
	})
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return waitNop, nil
	case err != nil:
		return 0, fmt.Errorf("wait for journal: %w", err)
	case res < 0:
		return 0, fmt.Errorf("process journal changes: %w", errno(res))
	}
	return int(res), nil
}

// setupPoll puts a duplicate of libsystemd's inotify descriptor into Go's poller.
// libsystemd made it non-blocking, which the duplicate shares. On failure waits
// stay in sd_journal_wait.
func (j *journal) setupPoll() {
	fd := C.sd_journal_get_fd(j.j)
	if fd < 0 {
		return
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(dup), "journal-inotify")
	rc, err := f.SyscallConn()
	if err != nil || f.SetReadDeadline(time.Time{}) != nil {
		f.Close() // not pollable (a blocking descriptor)
		return
	}
	j.poll, j.pollConn = f, rc
}

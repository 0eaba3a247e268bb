package journald

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// deletions tells whether a journal file was deleted since it was last asked.
// libsystemd drops a file that was deleted under it (a vacuum while the reader
// lags) without an error and reads on in the next file, so the reader cannot see
// that entries were skipped. Looking back at every jump in sequence numbers would
// catch it but halves the read rate where container entries interleave with
// others; a non-blocking read of an inotify descriptor is one cheap syscall.
type deletions struct {
	fd      int
	watched map[string]bool
}

func newDeletions() (*deletions, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil, &os.SyscallError{Syscall: "inotify_init1", Err: err}
	}
	return &deletions{fd: fd, watched: map[string]bool{}}, nil
}

// watch adds the directories of the journal files this process has open; new
// ones appear after a flush to /var/log/journal or a new namespace file.
func (d *deletions) watch() error {
	dirs, err := openJournalDirs("/proc/self/fd")
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		if d.watched[dir] {
			continue
		}
		if _, err := syscall.InotifyAddWatch(d.fd, dir, syscall.IN_DELETE|syscall.IN_ONLYDIR); err != nil {
			return &os.PathError{Op: "inotify_add_watch", Path: dir, Err: err}
		}
		d.watched[dir] = true
	}
	return nil
}

// seen drains the pending events and says whether there were any (a queue
// overflow counts: something may have been deleted).
func (d *deletions) seen() bool {
	var buf [4096]byte
	any := false
	for {
		n, err := syscall.Read(d.fd, buf[:])
		if n > 0 {
			any = true
			continue
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		// EAGAIN: drained. Any other error: say yes, so the reader looks back.
		return any || (err != nil && !errors.Is(err, syscall.EAGAIN))
	}
}

func (d *deletions) close() {
	if d != nil && d.fd >= 0 {
		syscall.Close(d.fd)
		d.fd = -1
	}
}

// openJournalDirs lists the directories of the journal files open in the
// process whose descriptor table is fdDir. libsystemd keeps every file of a
// handle open, so these are the directories the handle reads.
func openJournalDirs(fdDir string) ([]string, error) {
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var dirs []string
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		target = strings.TrimSuffix(target, " (deleted)")
		if !strings.HasSuffix(target, ".journal") && !strings.HasSuffix(target, ".journal~") {
			continue
		}
		if dir := filepath.Dir(target); !seen[dir] {
			seen[dir] = true
			dirs = append(dirs, dir)
		}
	}
	return dirs, nil
}

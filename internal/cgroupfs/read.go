package cgroupfs

import (
	"errors"
	"os"
	"sync"
	"syscall"
)

// maxFile bounds what one read may hold: the largest file read here (memory.stat with a
// NUMA host's extra lines, /proc/PID/net/dev with hundreds of interfaces) is a few
// kilobytes, and a bound keeps a strange mount from growing the buffer without end.
const maxFile = 1 << 20

var errTooLarge = errors.New("file larger than 1 MiB")

// buffers are what readFile reads into, shared by every engine's stats round: a round
// reads a dozen files per container, one after the other.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 8192); return &b }}

// readFile reads a small kernel file (cgroupfs, procfs) into buf. os.ReadFile costs
// three times as much on these files on a VM, where every system call costs about a
// microsecond: it stats the file, tries to register it with the poller, allocates, and
// reads a second time to see the end. The kernel's seq_file, behind every cgroup and
// proc file, fills a read as far as the content goes, so a short read is the end.
func readFile(path string, buf []byte) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return buf[:0], &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			if cap(buf) >= maxFile {
				return buf[:0], &os.PathError{Op: "read", Path: path, Err: errTooLarge}
			}
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return buf[:0], &os.PathError{Op: "read", Path: path, Err: err}
		}
		buf = buf[:len(buf)+n]
		if n == 0 || len(buf) < cap(buf) {
			return buf, nil
		}
	}
}

// ReadFile reads a small kernel file as readFile does, into a buffer of the pool; use
// must not keep data after it returns.
func ReadFile(path string, use func(data []byte) error) error {
	bp := buffers.Get().(*[]byte)
	data, err := readFile(path, *bp)
	if err == nil {
		err = use(data)
	}
	*bp = data[:0]
	buffers.Put(bp)
	return err
}

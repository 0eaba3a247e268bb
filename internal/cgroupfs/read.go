package cgroupfs

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
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

// openFile opens a small kernel file for reading.
func openFile(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

// readAll reads an open kernel file from its start into buf. The kernel's seq_file,
// behind every cgroup and proc file, fills a read as far as the content goes, so a
// short read is the end; a read at offset 0 makes it generate the content afresh, so a
// file kept open reads as a newly opened one does. err is the bare errno.
func readAll(fd int, buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			if cap(buf) >= maxFile {
				return buf[:0], errTooLarge
			}
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		n, err := syscall.Pread(fd, buf[len(buf):cap(buf)], int64(len(buf)))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return buf[:0], err
		}
		buf = buf[:len(buf)+n]
		if n == 0 || len(buf) < cap(buf) {
			return buf, nil
		}
	}
}

// readFile reads a small kernel file (cgroupfs, procfs) into buf. os.ReadFile costs
// three times as much on these files on a VM, where every system call costs about a
// microsecond: it stats the file, tries to register it with the poller, allocates, and
// reads a second time to see the end.
func readFile(path string, buf []byte) ([]byte, error) {
	fd, err := openFile(path)
	if err != nil {
		return buf[:0], err
	}
	defer syscall.Close(fd)
	data, err := readAll(fd, buf)
	if err != nil {
		return data, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return data, nil
}

// readAt reads the small kernel file name in the directory open at dirFD, as readFile
// does: the kernel looks up one name instead of walking a whole path.
func readAt(dirFD int, name string, buf []byte) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Openat(dirFD, name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return buf[:0], &os.PathError{Op: "openat", Path: name, Err: err}
	}
	defer syscall.Close(fd)
	data, err := readAll(fd, buf)
	if err != nil {
		return data, &os.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
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

// Files read every stats round are kept open between rounds and read again at offset
// 0 (kept.read): opening one costs a walk of its path (seven names below /sys), and
// closing it the release of what the open set up. On a VM that is two thirds of a
// reading: a read of a kept memory.stat costs 6 µs of system time instead of 20, of a
// kept /proc/PID/net/dev 4 instead of 14; a one-line counter opened in a directory kept
// open 9 instead of 15.
//
// Every process's open files are bounded by RLIMIT_NOFILE, whose soft limit Go raises
// to the hard one at start (systemd's default hard limit is 524288; a container's is
// Podman's default_ulimits, which may be as low as 1024). What is kept open takes at
// most a quarter of it; beyond that, files are opened by their path and closed each
// read as before, and the journal, the listeners and the API's connections keep the
// rest.
var (
	keptOpen atomic.Int64
	keptMax  = sync.OnceValue(func() int64 {
		var rl syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
			return 0
		}
		return int64(min(rl.Cur, 1<<30) / 4)
	})
)

// KeptOpen is how many files are kept open between reads, over every engine.
func KeptOpen() int64 { return keptOpen.Load() }

// kept is a file descriptor kept open between reads: the descriptor plus one, 0 when
// none is.
type kept int32

// close closes the file kept, if any.
func (k *kept) close() {
	if *k != 0 {
		_ = syscall.Close(int(*k - 1))
		*k = 0
		keptOpen.Add(-1)
	}
}

// open opens path with flags for k to keep, while the bound allows; ok says k keeps it.
func (k *kept) open(path string, flags int) (ok bool) {
	k.close()
	if keptOpen.Add(1) > keptMax() {
		keptOpen.Add(-1)
		return false
	}
	for {
		fd, err := syscall.Open(path, flags|syscall.O_CLOEXEC, 0)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			keptOpen.Add(-1)
			return false
		}
		*k = kept(fd + 1)
		return true
	}
}

// read reads the file at path through k: the file k keeps open when it has one,
// which is opened again when the read fails (ENODEV: its cgroup was removed, by the
// container stopping or restarting; the new one at the same path is read by the
// path); else the file at path, kept open for the next read while the bound allows.
// reopened says k held a file that could not be read any more.
func (k *kept) read(path func() string, buf []byte) (data []byte, reopened bool, err error) {
	if *k != 0 {
		if data, err := readAll(int(*k-1), buf); err == nil {
			return data, false, nil
		}
		k.close()
		reopened = true
	}
	p := path()
	fd, err := openFile(p)
	if err != nil {
		return buf[:0], reopened, err
	}
	data, err = readAll(fd, buf)
	if err != nil {
		_ = syscall.Close(fd)
		return data, reopened, &os.PathError{Op: "read", Path: p, Err: err}
	}
	if keptOpen.Add(1) <= keptMax() {
		*k = kept(fd + 1)
	} else {
		keptOpen.Add(-1)
		_ = syscall.Close(fd)
	}
	return data, reopened, nil
}

// File is one kernel file read again and again (a container's /proc/PID/net/dev),
// kept open between reads. The zero File has none open; Close closes it.
type File struct {
	path string
	fd   kept
}

// Read reads the file at path into a buffer of the pool, through the one kept open
// when it is the same path; use must not keep data after it returns.
func (f *File) Read(path string, use func(data []byte) error) error {
	if f.path != path {
		f.fd.close()
		f.path = path
	}
	bp := buffers.Get().(*[]byte)
	data, _, err := f.fd.read(func() string { return path }, *bp)
	if err == nil {
		err = use(data)
	}
	*bp = data[:0]
	buffers.Put(bp)
	return err
}

// Close closes the file kept open, if any; the File may be read again.
func (f *File) Close() {
	f.fd.close()
	f.path = ""
}

package journald

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// libsystemd reads journal files through memory maps and keeps up to 64 windows of
// 8 MiB mapped; every page it read stays resident, and counted in podexporter's RSS,
// until a window is recycled. Catching up on a large journal took RSS to 140 MiB that
// way, almost all of it pages read once and never again. Unmapping them (the file
// pages stay in the page cache; libsystemd's pointers stay valid and fault back in
// what is read again) every dropEvery entries, and when the reader has caught up
// after reading some (at most every dropIdleEvery, since a live reader catches up
// many times a second), bounds that to what one stretch of reading touches.
const (
	dropEvery     = 8192
	dropIdleEvery = time.Second
)

// dropJournalPages unmaps the journal files' pages. Failure costs only memory, so it
// is logged at debug level only.
func (t *tail) dropJournalPages() {
	t.lastDrop = time.Now()
	var err error
	if t.mapsBuf, err = dropMappedFiles(t.mapsBuf, "/proc/self/maps"); err != nil {
		t.r.log.Debug("cannot unmap read journal pages", "err", err)
	}
}

// dropMappedFiles gives back the pages of the shared read-only mappings of journal
// files listed in the maps file at path (libsystemd maps journal files so; the zero
// pages the SIGBUS handler maps over truncated ones are anonymous mappings of their
// own). It reads maps, not smaps: smaps walks every page of every mapping to count
// them, a third of what a live reader's drop once a second cost. buf is reused for
// the file's text and returned, grown.
func dropMappedFiles(buf []byte, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	for line := range bytes.Lines(buf) {
		start, end, ok := journalMapping(line)
		if !ok {
			continue
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED); errno != 0 {
			return buf, fmt.Errorf("madvise %x-%x: %w", start, end, errno)
		}
	}
	return buf, nil
}

// journalMapping parses a line of /proc/PID/maps ("start-end perms offset dev inode
// path") and says whether it maps a journal file shared and read-only.
func journalMapping(line []byte) (start, end uint64, ok bool) {
	line = bytes.TrimRight(line, "\n")
	var f [5][]byte
	rest := line
	for i := range f {
		var found bool
		if f[i], rest, found = bytes.Cut(rest, []byte{' '}); !found {
			return 0, 0, false
		}
	}
	path := bytes.TrimLeft(rest, " ")
	perms := f[1]
	if len(perms) != 4 || perms[0] != 'r' || perms[1] != '-' || perms[3] != 's' ||
		!(bytes.HasSuffix(path, []byte(".journal")) || bytes.HasSuffix(path, []byte(".journal~"))) {
		return 0, 0, false
	}
	lo, hi, found := bytes.Cut(f[0], []byte{'-'})
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseUint(string(lo), 16, 64)
	end, err2 := strconv.ParseUint(string(hi), 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return 0, 0, false
	}
	return start, end, true
}

func isJournalFile(path string) bool {
	return strings.HasSuffix(path, ".journal") || strings.HasSuffix(path, ".journal~")
}

package journald

/*
#cgo pkg-config: libsystemd
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

// Journal files are read through memory maps. journald and journalctl --vacuum
// truncate a file as they delete it (to free the space even while readers hold
// it), and touching a truncated page raises SIGBUS, which would kill the process.
// journalctl survives this with a handler that maps a zero page over the faulting
// address; libsystemd then finds the zeros invalid and reports an error, which the
// reader recovers from like any failed read. This is that handler. File-backed
// maps are libsystemd's alone in podexporter; any other SIGBUS (no page can be
// mapped) goes on to the handler that was there before (the Go runtime's).
static struct sigaction pe_old_sigbus;
static volatile sig_atomic_t pe_sigbus_count;
static long pe_page_size; // read at install: sysconf is not async-signal-safe

static void pe_sigbus(int sig, siginfo_t *info, void *uctx) {
	long pg = pe_page_size;
	void *page = (void *)((uintptr_t)info->si_addr & ~((uintptr_t)pg - 1));
	if (info->si_addr != NULL && pg > 0 &&
	    mmap(page, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
		pe_sigbus_count++;
		return;
	}
	if (pe_old_sigbus.sa_flags & SA_SIGINFO) {
		pe_old_sigbus.sa_sigaction(sig, info, uctx);
	} else if (pe_old_sigbus.sa_handler != SIG_DFL && pe_old_sigbus.sa_handler != SIG_IGN) {
		pe_old_sigbus.sa_handler(sig);
	} else {
		signal(SIGBUS, SIG_DFL);
		raise(SIGBUS);
	}
}

static int pe_sigbus_install(void) {
	pe_page_size = sysconf(_SC_PAGESIZE);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = pe_sigbus;
	// SA_ONSTACK: the Go runtime requires it of every handler it may run under.
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, &pe_old_sigbus) < 0 ? -errno : 0;
}

static long pe_sigbus_seen(void) { return pe_sigbus_count; }

// pe_read reads the current entry (after advancing, when advance is set) in one
// pass over its fields. conmon's entries carry a compressed _CMDLINE of about
// 1.6 KB, and every sd_journal_get_data call decompresses the head of each
// compressed field again while it searches; one enumeration decompresses it once.
// Wanted fields are given as nwanted "NAME=" prefixes laid end to end in wanted,
// with their lengths in wlen. Each match is copied to buf as a 2-byte field index,
// a 4-byte length and the value. When buf is too small, nothing past cap is written
// and *used says how much is needed, so the caller can grow buf and call again
// with advance unset.
static int pe_read(sd_journal *j, int advance, const char *wanted, const size_t *wlen, int nwanted,
		char *buf, size_t cap, size_t *used, uint64_t *realtime, char **cursor) {
	int r;
	if (advance) {
		r = sd_journal_next(j);
		if (r <= 0)
			return r;
	}
	r = sd_journal_get_realtime_usec(j, realtime);
	if (r < 0)
		return r;
	r = sd_journal_get_cursor(j, cursor);
	if (r < 0)
		return r;
	size_t n = 0;
	const void *d;
	size_t l;
	sd_journal_restart_data(j);
	while ((r = sd_journal_enumerate_available_data(j, &d, &l)) > 0) {
		const char *p = wanted;
		const char *dc = d;
		for (int i = 0; i < nwanted; p += wlen[i], i++) {
			size_t k = wlen[i];
			// A conmon entry has about 25 fields and about 20 are wanted: the '='
			// and the first letter turn away nearly every pair before memcmp,
			// which was 3% of the daemon's CPU on its own.
			if (l < k || k < 2 || dc[k - 1] != '=' || dc[0] != p[0] || memcmp(dc + 1, p + 1, k - 2) != 0)
				continue;
			size_t vl = l - k;
			if (n + 6 + vl <= cap) {
				uint16_t idx = (uint16_t)i;
				uint32_t len32 = (uint32_t)vl;
				memcpy(buf + n, &idx, 2);
				memcpy(buf + n + 2, &len32, 4);
				memcpy(buf + n + 6, (const char *)d + k, vl);
			}
			n += 6 + vl;
			break;
		}
	}
	*used = n;
	if (r < 0) {
		free(*cursor);
		*cursor = NULL;
		return r;
	}
	return 1;
}

// pe_preceded_by says whether the matching entry before the current one is the
// entry at cursor, and comes back to the current entry. It is 0 when that entry is
// gone: libsystemd drops a file that was deleted under it (a vacuum) without an
// error, so reading simply goes on in the next file.
static int pe_preceded_by(sd_journal *j, const char *cursor) {
	int r = sd_journal_previous(j);
	if (r <= 0)
		return r; // no previous entry: the position did not move
	int same = sd_journal_test_cursor(j, cursor);
	r = sd_journal_next(j);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	return same;
}

// pe_unique lays every value of field in the open journal files into buf, each as a
// 4-byte length and the value (without "FIELD="), like pe_read: when buf is too
// small, nothing past cap is written and *used says how much is needed. Matches do
// not restrict it (sd_journal_query_unique(3)), so it sees every file's values.
static int pe_unique(sd_journal *j, const char *field, char *buf, size_t cap, size_t *used) {
	int r = sd_journal_query_unique(j, field);
	if (r < 0)
		return r;
	size_t skip = strlen(field) + 1, n = 0;
	const void *d;
	size_t l;
	while ((r = sd_journal_enumerate_available_unique(j, &d, &l)) > 0) {
		if (l < skip)
			continue;
		size_t vl = l - skip;
		if (n + 4 + vl <= cap) {
			uint32_t len32 = (uint32_t)vl;
			memcpy(buf + n, &len32, 4);
			memcpy(buf + n + 4, (const char *)d + skip, vl);
		}
		n += 4 + vl;
	}
	*used = n;
	return r < 0 ? r : 0;
}

static int pe_open_files(sd_journal **j, char *paths, int n) {
	const char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	char *p = paths;
	for (int i = 0; i < n; i++) {
		v[i] = p;
		p += strlen(p) + 1;
	}
	int r = sd_journal_open_files(j, v, 0);
	free(v);
	return r;
}
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Wait results, as sd_journal_wait returns them.
const (
	waitNop        = int(C.SD_JOURNAL_NOP)
	waitAppend     = int(C.SD_JOURNAL_APPEND)
	waitInvalidate = int(C.SD_JOURNAL_INVALIDATE)
)

// journal is a libsystemd journal handle. It is not safe for concurrent use: one
// goroutine owns it, which is also why it needs none of sdjournal's locking.
type journal struct {
	j *C.sd_journal
	// poll is a duplicate of libsystemd's inotify descriptor in Go's poller, so that
	// a wait parks the goroutine, not a thread, and ends with its context; nil
	// before the first wait or where it cannot be polled (pollTried).
	poll      *os.File
	pollConn  syscall.RawConn
	pollTried bool
	// wanted, wlen: the field prefixes pe_read copies, in C memory so that the hot
	// loop passes them without copying.
	wanted  *C.char
	wlen    *C.size_t
	nwanted int
	buf     []byte
	// ubuf is unique's buffer, kept: the name lister lists at every batch seal.
	ubuf []byte
}

// location says which journal files to open; at most one of its fields is set.
type location struct {
	Directory string
	Namespace string
	Files     []string
}

func errno(r C.int) error { return syscall.Errno(-r) }

var sigbusOnce sync.Once

// sigbusSeen says how many truncated journal pages were read as zeros (see
// pe_sigbus in the preamble).
func sigbusSeen() int64 { return int64(C.pe_sigbus_seen()) }

func openJournal(src location) (*journal, error) {
	var installErr error
	sigbusOnce.Do(func() {
		if r := C.pe_sigbus_install(); r < 0 {
			installErr = fmt.Errorf("install the SIGBUS handler for truncated journal files: %w", errno(r))
		}
	})
	if installErr != nil {
		return nil, installErr
	}
	var j *C.sd_journal
	var r C.int
	switch {
	case len(src.Files) > 0:
		joined := C.CString(strings.Join(src.Files, "\x00") + "\x00")
		r = C.pe_open_files(&j, joined, C.int(len(src.Files)))
		C.free(unsafe.Pointer(joined))
	case src.Directory != "":
		d := C.CString(src.Directory)
		r = C.sd_journal_open_directory(&j, d, 0)
		C.free(unsafe.Pointer(d))
	case src.Namespace != "":
		ns := C.CString(src.Namespace)
		r = C.sd_journal_open_namespace(&j, ns, C.SD_JOURNAL_LOCAL_ONLY)
		C.free(unsafe.Pointer(ns))
	default:
		// LOCAL_ONLY: this machine's files (system and users', so rootless containers
		// too), not those journal-remote collected from others.
		r = C.sd_journal_open(&j, C.SD_JOURNAL_LOCAL_ONLY)
	}
	if r < 0 {
		return nil, fmt.Errorf("open journal %s: %w", src, errno(r))
	}
	// Without this, fields over 64 KiB come back truncated.
	if r := C.sd_journal_set_data_threshold(j, 0); r < 0 {
		C.sd_journal_close(j)
		return nil, fmt.Errorf("set journal data threshold: %w", errno(r))
	}
	return &journal{j: j, buf: make([]byte, 64<<10)}, nil
}

// openFds opens a handle over files, through their descriptors' names in /proc:
// libsystemd opens and closes its own descriptors then, while
// sd_journal_open_files_fd's ownership of the ones it is given differs between
// versions (252 closes them with the handle).
func openFds(files []heldFile) (*journal, error) {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = "/proc/self/fd/" + strconv.Itoa(f.fd)
	}
	return openJournal(location{Files: paths})
}

func (s location) String() string {
	switch {
	case len(s.Files) > 0:
		return "files " + strings.Join(s.Files, ",")
	case s.Directory != "":
		return "directory " + s.Directory
	case s.Namespace != "":
		return "namespace " + s.Namespace
	}
	return "local"
}

func (j *journal) close() {
	if j.poll != nil {
		j.poll.Close()
		j.poll, j.pollConn = nil, nil
	}
	if j.j != nil {
		C.sd_journal_close(j.j)
		j.j = nil
	}
	if j.wanted != nil {
		C.free(unsafe.Pointer(j.wanted))
		C.free(unsafe.Pointer(j.wlen))
		j.wanted, j.wlen = nil, nil
	}
}

// setFields chooses the fields read returns, by index in names.
func (j *journal) setFields(names []string) {
	var all strings.Builder
	lens := make([]C.size_t, len(names))
	for i, n := range names {
		all.WriteString(n)
		all.WriteByte('=')
		lens[i] = C.size_t(len(n) + 1)
	}
	j.wanted = C.CString(all.String())
	j.wlen = (*C.size_t)(C.malloc(C.size_t(len(lens)) * C.size_t(unsafe.Sizeof(C.size_t(0)))))
	copy(unsafe.Slice(j.wlen, len(lens)), lens)
	j.nwanted = len(names)
}

func (j *journal) addMatch(m string) error {
	c := C.CString(m)
	defer C.free(unsafe.Pointer(c))
	if r := C.sd_journal_add_match(j.j, unsafe.Pointer(c), C.size_t(len(m))); r < 0 {
		return fmt.Errorf("add journal match %q: %w", m, errno(r))
	}
	return nil
}

func (j *journal) addDisjunction() error {
	if r := C.sd_journal_add_disjunction(j.j); r < 0 {
		return fmt.Errorf("add journal disjunction: %w", errno(r))
	}
	return nil
}

// flushMatches removes every match; the position must be sought again after.
func (j *journal) flushMatches() { C.sd_journal_flush_matches(j.j) }

// unique returns the distinct values field has in the open journal files, whatever
// the matches.
func (j *journal) unique(field string) ([]string, error) {
	f := C.CString(field)
	defer C.free(unsafe.Pointer(f))
	if j.ubuf == nil {
		j.ubuf = make([]byte, 16<<10)
	}
	buf := j.ubuf
	for {
		var used C.size_t
		r := C.pe_unique(j.j, f, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &used)
		if r < 0 {
			return nil, fmt.Errorf("list the values of journal field %s: %w", field, errno(r))
		}
		if int(used) > len(buf) {
			buf = make([]byte, int(used)+int(used)/4)
			j.ubuf = buf
			continue
		}
		var vals []string
		b := buf[:used]
		for len(b) >= 4 {
			n := int(binary.NativeEndian.Uint32(b))
			vals = append(vals, string(b[4:4+n]))
			b = b[4+n:]
		}
		return vals, nil
	}
}

// usage is the disk space of the journal files the handle opened: 0 when it opened
// none (libsystemd skips a file it may not open).
func (j *journal) usage() (uint64, error) {
	var n C.uint64_t
	if r := C.sd_journal_get_usage(j.j, &n); r < 0 {
		return 0, fmt.Errorf("journal disk usage: %w", errno(r))
	}
	return uint64(n), nil
}

func (j *journal) seekHead() error {
	if r := C.sd_journal_seek_head(j.j); r < 0 {
		return fmt.Errorf("seek journal head: %w", errno(r))
	}
	return nil
}

func (j *journal) seekTail() error {
	if r := C.sd_journal_seek_tail(j.j); r < 0 {
		return fmt.Errorf("seek journal tail: %w", errno(r))
	}
	return nil
}

func (j *journal) seekRealtime(t time.Time) error {
	if r := C.sd_journal_seek_realtime_usec(j.j, C.uint64_t(t.UnixMicro())); r < 0 {
		return fmt.Errorf("seek journal to %s: %w", t, errno(r))
	}
	return nil
}

func (j *journal) seekCursor(cursor string) error {
	c := C.CString(cursor)
	defer C.free(unsafe.Pointer(c))
	if r := C.sd_journal_seek_cursor(j.j, c); r < 0 {
		return fmt.Errorf("seek journal cursor %q: %w", cursor, errno(r))
	}
	return nil
}

// testCursor reports whether the current entry is the one cursor names.
func (j *journal) testCursor(cursor string) (bool, error) {
	c := C.CString(cursor)
	defer C.free(unsafe.Pointer(c))
	r := C.sd_journal_test_cursor(j.j, c)
	if r < 0 {
		return false, fmt.Errorf("test journal cursor %q: %w", cursor, errno(r))
	}
	return r > 0, nil
}

// precededBy says whether the entry before the current one is the one at cursor;
// the current entry stays current.
func (j *journal) precededBy(cursor string) (bool, error) {
	c := C.CString(cursor)
	defer C.free(unsafe.Pointer(c))
	r := C.pe_preceded_by(j.j, c)
	if r < 0 {
		return false, fmt.Errorf("check the journal entry before the current one: %w", errno(r))
	}
	return r > 0, nil
}

func (j *journal) next() (bool, error) {
	r := C.sd_journal_next(j.j)
	if r < 0 {
		return false, fmt.Errorf("read next journal entry: %w", errno(r))
	}
	return r > 0, nil
}

func (j *journal) previous() (bool, error) {
	r := C.sd_journal_previous(j.j)
	if r < 0 {
		return false, fmt.Errorf("read previous journal entry: %w", errno(r))
	}
	return r > 0, nil
}

func (j *journal) cursor() (string, error) {
	var c *C.char
	if r := C.sd_journal_get_cursor(j.j, &c); r < 0 {
		return "", fmt.Errorf("get journal cursor: %w", errno(r))
	}
	defer C.free(unsafe.Pointer(c))
	return C.GoString(c), nil
}

// wait blocks up to d for the journal to change. It holds no Go lock, but the
// caller must keep d short: the owning goroutine checks its context in between.
func (j *journal) wait(d time.Duration) (int, error) {
	r := C.sd_journal_wait(j.j, C.uint64_t(d.Microseconds()))
	if r < 0 {
		return 0, fmt.Errorf("wait for journal: %w", errno(r))
	}
	return int(r), nil
}

// rawEntry is one entry as read: fields[i] is the value of the i-th wanted field,
// nil when absent. The slices point into the journal's buffer and are valid until
// the next read.
type rawEntry struct {
	realtime uint64
	cursor   string
	fields   [][]byte
	// more holds the earlier values of fields the entry carries more than once
	// (fields has the last); journal matches select an entry by any of them.
	more []fieldValue
}

// fieldValue is a value of the at-th wanted field.
type fieldValue struct {
	at    int
	value []byte
}

// read advances (when advance is set) and reads the entry into e. It returns false
// at the end of the journal.
func (j *journal) read(advance bool, e *rawEntry) (bool, error) {
	adv := C.int(0)
	if advance {
		adv = 1
	}
	for {
		var used C.size_t
		var rt C.uint64_t
		var cur *C.char
		r := C.pe_read(j.j, adv, j.wanted, j.wlen, C.int(j.nwanted),
			(*C.char)(unsafe.Pointer(&j.buf[0])), C.size_t(len(j.buf)), &used, &rt, &cur)
		if r < 0 {
			return false, fmt.Errorf("read journal entry: %w", errno(r))
		}
		if r == 0 {
			return false, nil
		}
		e.realtime = uint64(rt)
		e.cursor = C.GoString(cur)
		C.free(unsafe.Pointer(cur))
		if int(used) > len(j.buf) {
			j.buf = make([]byte, int(used)+int(used)/4)
			adv = 0
			continue
		}
		if cap(e.fields) < j.nwanted {
			e.fields = make([][]byte, j.nwanted)
		}
		e.fields = e.fields[:j.nwanted]
		clear(e.fields)
		e.more = e.more[:0]
		b := j.buf[:used]
		for len(b) >= 6 {
			idx := binary.NativeEndian.Uint16(b)
			n := int(binary.NativeEndian.Uint32(b[2:]))
			if prev := e.fields[idx]; prev != nil {
				e.more = append(e.more, fieldValue{int(idx), prev})
			}
			e.fields[idx] = b[6 : 6+n : 6+n]
			b = b[6+n:]
		}
		return true, nil
	}
}

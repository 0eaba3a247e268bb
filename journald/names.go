package journald

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Listing a journal's container names through the reader's own handle walks the
// CONTAINER_NAME values of every file it has open, and libsystemd also looks each
// value up in every file listed before it. On a host whose journal is gigabytes in
// dozens of archived files that was most of the daemon's CPU, and kept pages of
// every file resident, at each batch seal. An archived file can never gain an
// entry, so its names cannot change: nameLister lists each archived file once and
// afterwards only the files journald may still append to, through a handle of its
// own over just those.
//
// Which files the reader has open is what the process has open (libsystemd keeps a
// descriptor per file, as watchDeletions relies on too); the set can change only
// when libsystemd adds or drops a file, which sd_journal_wait reports as an
// invalidation (or the reader reopens), and only then is it looked at again, so a
// listing's cost does not depend on how many archived files there are. An active
// file archived between two looks (rotation) is listed once more after its header
// says archived, so the entries appended to it before that are covered.

// Journal file header (systemd's journal-def.h): an 8-byte signature, two 32-bit
// flag words, the state byte, 7 reserved bytes, then the file's random 128-bit id.
const (
	headerStateOffset  = 16
	headerFileIDOffset = 24
	fileStateArchived  = 2
)

var journalSignature = []byte("LPKSHHRH")

// errLookAgain: the files could not be told apart this time (no file open yet, one
// whose header journald is still writing); the listing goes through the reader's
// handle, and the next one looks again, up to maxLookAgain times in a row.
var errLookAgain = errors.New("look again at the next listing")

const maxLookAgain = 100

// fileID identifies an open file whatever its name (rotation renames it): the inode
// and, since a deleted file's inode number may come back with a new file, the id
// journald gave the file.
type fileID struct {
	dev, ino uint64
	file     [16]byte
}

// heldFile is a journal file opened again by the lister, through /proc/self/fd,
// with a descriptor of its own.
type heldFile struct {
	id fileID
	fd int
}

// nameLister lists a field's values from the journal files that can still change,
// after listing those that cannot once. It is owned by the read loop.
type nameLister struct {
	field string
	log   *slog.Logger
	// fdDir is the descriptor table read (tests point it elsewhere).
	fdDir string
	// rescan: the reader's file set may have changed since it was last looked at.
	rescan bool
	// active are the files journald may still append to, h a handle over them
	// (nil when there are none).
	active []heldFile
	h      *journal
	// done holds the archived files listed since they were archived.
	done map[fileID]bool
	// fallback: the files cannot be told apart here (no /proc, a file that does not
	// open again); every listing goes through the reader's handle, as before.
	fallback bool
	// scans counts the looks at the file set; listedOnce the archived files listed
	// (tests and the debug log); retries the looks in a row that had to be taken again.
	scans, listedOnce, retries int
}

func newNameLister(field string, log *slog.Logger) *nameLister {
	return &nameLister{field: field, log: log, fdDir: "/proc/self/fd", rescan: true, done: map[fileID]bool{}}
}

// filesChanged says the reader's handle may have added or dropped files.
func (l *nameLister) filesChanged() {
	if l != nil {
		l.rescan = true
	}
}

// list returns the values of the field in every file main reads (with repeats):
// those of the active files as of now, and those of archived files listed before.
func (l *nameLister) list(main *journal) ([]string, error) {
	if l.fallback {
		return main.unique(l.field)
	}
	if !l.rescan {
		for _, f := range l.active {
			if archived, err := fileArchived(f.fd); err != nil || archived {
				l.rescan = true // rotated since: list it one last time below
				break
			}
		}
	}
	if !l.rescan {
		if l.h == nil {
			return nil, nil
		}
		return l.h.unique(l.field)
	}
	vals, err := l.refresh()
	if errors.Is(err, errLookAgain) {
		// Nothing to tell apart yet (no file, or one journald is still creating):
		// the reader's handle lists what it has, and the next listing looks again.
		l.rescan = true
		if l.retries++; l.retries < maxLookAgain {
			return appendUnique(vals, main, l.field)
		}
	}
	if err != nil {
		l.closeActive()
		l.fallback = true
		l.log.Info("cannot list container names from the active journal files alone; listing every file instead", "err", err)
		return appendUnique(vals, main, l.field)
	}
	return vals, nil
}

// refresh looks at the files the process has open again: it lists the previous
// active files one last time, each archived file not listed since it was archived,
// and opens a handle over the active ones, which it lists too.
func (l *nameLister) refresh() ([]string, error) {
	var out []string
	if l.h != nil {
		// The state first: what is archived before the listing is complete in it.
		var archived []fileID
		for _, f := range l.active {
			if a, err := fileArchived(f.fd); err == nil && a {
				archived = append(archived, f.id)
			}
		}
		vals, err := l.h.unique(l.field)
		if err != nil {
			return nil, err
		}
		out = append(out, vals...)
		for _, id := range archived {
			l.done[id] = true
		}
	}
	l.closeActive()
	l.scans++
	files, err := l.openFiles()
	if err != nil {
		return out, err
	}
	if len(files) == 0 {
		return out, fmt.Errorf("no journal file open: %w", errLookAgain)
	}
	archived := make([]bool, len(files))
	for i, f := range files {
		if archived[i], err = fileArchived(f.fd); err != nil {
			closeHeld(files)
			return out, fmt.Errorf("%w: %w", err, errLookAgain)
		}
	}
	var once, active []heldFile
	seen := make(map[fileID]bool, len(files))
	for i, f := range files {
		seen[f.id] = true
		switch {
		case archived[i] && l.done[f.id]:
			syscall.Close(f.fd)
		case archived[i]:
			once = append(once, f)
		default:
			active = append(active, f)
		}
	}
	for id := range l.done {
		if !seen[id] {
			delete(l.done, id) // no longer read
		}
	}
	if len(once) > 0 {
		vals, err := uniqueOf(once, l.field)
		closeHeld(once)
		if err != nil {
			closeHeld(active)
			return out, fmt.Errorf("%w: %w", err, errLookAgain)
		}
		out = append(out, vals...)
		for _, f := range once {
			l.done[f.id] = true
		}
		l.listedOnce += len(once)
	}
	l.active = active
	if len(active) > 0 {
		h, err := openFds(active)
		if err != nil {
			l.closeActive()
			return out, fmt.Errorf("%w: %w", err, errLookAgain)
		}
		l.h = h
		vals, err := h.unique(l.field)
		if err != nil {
			l.closeActive()
			return out, err
		}
		out = append(out, vals...)
	}
	l.rescan, l.retries = false, 0
	l.log.Debug("journal files for container names", "active", len(active), "archived_listed", len(once), "archived_done", len(l.done))
	return out, nil
}

// openFiles opens again, once each, every journal file the process has open.
func (l *nameLister) openFiles() ([]heldFile, error) {
	ents, err := os.ReadDir(l.fdDir)
	if err != nil {
		return nil, err
	}
	var files []heldFile
	seen := map[fileID]bool{}
	for _, e := range ents {
		link := filepath.Join(l.fdDir, e.Name())
		target, err := os.Readlink(link)
		if err != nil || !isJournalFile(strings.TrimSuffix(target, " (deleted)")) {
			continue // closed meanwhile, or not a journal file
		}
		fd, err := syscall.Open(link, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
		if err != nil {
			if errors.Is(err, syscall.ENOENT) {
				continue // closed meanwhile
			}
			closeHeld(files)
			return nil, &os.PathError{Op: "open", Path: target, Err: err}
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			syscall.Close(fd)
			closeHeld(files)
			return nil, &os.PathError{Op: "fstat", Path: target, Err: err}
		}
		if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
			syscall.Close(fd)
			continue
		}
		_, file, err := readHeader(fd)
		if err != nil {
			syscall.Close(fd)
			closeHeld(files)
			return nil, fmt.Errorf("%s: %w: %w", target, err, errLookAgain)
		}
		id := fileID{uint64(st.Dev), st.Ino, file}
		if seen[id] {
			syscall.Close(fd)
			continue
		}
		seen[id] = true
		files = append(files, heldFile{id: id, fd: fd})
	}
	return files, nil
}

func (l *nameLister) closeActive() {
	if l.h != nil {
		l.h.close()
		l.h = nil
	}
	closeHeld(l.active)
	l.active = nil
}

func (l *nameLister) close() {
	if l != nil {
		l.closeActive()
	}
}

func closeHeld(files []heldFile) {
	for _, f := range files {
		syscall.Close(f.fd)
	}
}

// fileArchived says whether a journal file's header says archived.
func fileArchived(fd int) (bool, error) {
	state, _, err := readHeader(fd)
	return state == fileStateArchived, err
}

// readHeader reads the state and the file id in a journal file's header. A file too
// short for its header, or with another signature, is an error: it is not (yet)
// what the reader sees as a journal file, so it is not for the lister to judge.
func readHeader(fd int) (state byte, file [16]byte, err error) {
	var h [headerFileIDOffset + 16]byte
	n, err := syscall.Pread(fd, h[:], 0)
	if err != nil {
		return 0, file, &os.SyscallError{Syscall: "pread", Err: err}
	}
	if n < len(h) || string(h[:8]) != string(journalSignature) {
		return 0, file, fmt.Errorf("not a journal file header (%d bytes, signature %q)", n, h[:min(n, 8)])
	}
	copy(file[:], h[headerFileIDOffset:])
	return h[headerStateOffset], file, nil
}

// appendUnique appends the field's values in j to vals: what a listing that could
// not finish had found is kept (an old active file's last listing).
func appendUnique(vals []string, j *journal, field string) ([]string, error) {
	more, err := j.unique(field)
	if err != nil {
		return nil, err
	}
	return append(vals, more...), nil
}

// uniqueOf lists the field's values in files through a handle of their own.
func uniqueOf(files []heldFile, field string) ([]string, error) {
	h, err := openFds(files)
	if err != nil {
		return nil, err
	}
	defer h.close()
	return h.unique(field)
}

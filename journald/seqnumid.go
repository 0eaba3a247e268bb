package journald

import (
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// A journal file's header keeps the id of the sequence-number series its entries
// belong to (journald starts a new one for a new machine id or journal directory, and
// keeps it across rotations and restarts). A saved cursor names that id, so it tells a
// cursor whose entry was vacuumed (its id is still in some file) from one taken from
// another journal altogether (a restored backup, a moved state volume, a changed
// machine-id), which sd_journal_seek_cursor accepts all the same.

// headerSeqnumID is where the 16-byte seqnum_id sits in the header: after the
// 8-byte signature, two 4-byte flag words, the state byte, 7 reserved bytes and
// the file, machine and tail-entry boot ids (systemd's journal-def.h).
const (
	headerSeqnumID = 72
	journalMagic   = "LPKSHHRH"
)

// fileSeqnumID reads the seqnum_id of the journal file at path, as a cursor writes it.
func fileSeqnumID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var h [headerSeqnumID + 16]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return "", err
	}
	if string(h[:8]) != journalMagic {
		return "", &os.PathError{Op: "read journal header", Path: path, Err: os.ErrInvalid}
	}
	return hex.EncodeToString(h[headerSeqnumID:]), nil
}

// knownSeqnumIDs returns the seqnum ids of the journal files in dirs and of files,
// the files this reader reads. Unreadable files are left out: a cursor is only ever
// called foreign when no readable file knows its id.
func knownSeqnumIDs(dirs, files []string) map[string]bool {
	ids := map[string]bool{}
	add := func(path string) {
		if id, err := fileSeqnumID(path); err == nil {
			ids[id] = true
		}
	}
	for _, f := range files {
		add(f)
	}
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if n := e.Name(); strings.HasSuffix(n, ".journal") || strings.HasSuffix(n, ".journal~") {
				add(filepath.Join(d, n))
			}
		}
	}
	return ids
}

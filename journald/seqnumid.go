package journald

import (
	"encoding/binary"
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
//
// The header also keeps the last sequence number the file issued, so the files say,
// without moving the reader's handle, where each series ends: a cursor past that end
// comes from a journal since restored from an older copy, and libsystemd would wait
// behind it forever, since journald numbers every entry it writes next below it.

// Offsets in the header (systemd's journal-def.h): the 16-byte seqnum_id after the
// 8-byte signature, two 4-byte flag words, the state byte, 7 reserved bytes and the
// file, machine and tail-entry boot ids; tail_entry_seqnum, little-endian, after the
// sizes and offsets of the arena, hash tables and tail object and the object and
// entry counts.
const (
	headerSeqnumID   = 72
	headerTailSeqnum = 160
	headerLen        = headerTailSeqnum + 8
	journalMagic     = "LPKSHHRH"
)

// fileHeader is what a journal file's header says of its sequence numbers. tail is
// the last one issued (a file just rotated in starts with its predecessor's), 0 when
// none was.
type fileHeader struct {
	seqnumID string
	tail     uint64
}

// readFileHeader reads the header of the journal file at path.
func readFileHeader(path string) (fileHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileHeader{}, err
	}
	defer f.Close()
	var h [headerLen]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return fileHeader{}, &os.PathError{Op: "read journal header", Path: path, Err: err}
	}
	if string(h[:8]) != journalMagic {
		return fileHeader{}, &os.PathError{Op: "read journal header", Path: path, Err: os.ErrInvalid}
	}
	return fileHeader{
		seqnumID: hex.EncodeToString(h[headerSeqnumID : headerSeqnumID+16]),
		tail:     binary.LittleEndian.Uint64(h[headerTailSeqnum:]),
	}, nil
}

// journalTails returns, per seqnum id of the journal files in dirs and of files (the
// files this reader reads), the last sequence number its files issued. Unreadable
// files are left out: a cursor is only ever called foreign, or past the end, by what
// readable files say.
func journalTails(dirs, files []string) map[string]uint64 {
	tails := map[string]uint64{}
	add := func(path string) {
		if h, err := readFileHeader(path); err == nil {
			tails[h.seqnumID] = max(tails[h.seqnumID], h.tail)
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
	return tails
}

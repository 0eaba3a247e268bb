package journald

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Checkpoint stores the cursor of the last entry a sink acknowledged, in one file.
type Checkpoint struct {
	path string
}

// NewCheckpoint keeps the cursor in the file at path.
func NewCheckpoint(path string) *Checkpoint { return &Checkpoint{path: path} }

// Path is the checkpoint file.
func (c *Checkpoint) Path() string { return c.path }

// ErrBadCheckpoint means the checkpoint file holds something that is not a cursor.
var ErrBadCheckpoint = errors.New("not a journal cursor")

// Load returns the saved cursor, or "" when none was saved yet.
func (c *Checkpoint) Load() (string, error) {
	b, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read journal checkpoint: %w", err)
	}
	cur := strings.TrimSpace(string(b))
	if _, _, ok := cursorSeqnum(cur); !ok {
		return "", fmt.Errorf("journal checkpoint %s: %w", c.path, ErrBadCheckpoint)
	}
	return cur, nil
}

// Save replaces the saved cursor so that a crash at any point leaves either the
// old or the new cursor on disk, never a torn file: write a temporary file, sync
// it, rename it over the old one, and sync the directory so the rename survives.
func (c *Checkpoint) Save(cursor string) error {
	dir := filepath.Dir(c.path)
	f, err := os.CreateTemp(dir, ".cursor-*")
	if err != nil {
		return fmt.Errorf("save journal checkpoint: %w", err)
	}
	tmp := f.Name()
	_, err = f.WriteString(cursor + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, c.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save journal checkpoint %s: %w", c.path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync journal checkpoint directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync journal checkpoint directory %s: %w", dir, err)
	}
	return nil
}

// cursorSeqnum takes the sequence number (i=) and its id (s=) out of a cursor,
// for counting the entries a gap lost.
func cursorSeqnum(cursor string) (id string, seq uint64, ok bool) {
	var haveSeq bool
	for part := range strings.SplitSeq(cursor, ";") {
		k, v, found := strings.Cut(part, "=")
		if !found {
			return "", 0, false
		}
		switch k {
		case "s":
			id = v
		case "i":
			n, err := strconv.ParseUint(v, 16, 64)
			if err != nil {
				return "", 0, false
			}
			seq, haveSeq = n, true
		}
	}
	return id, seq, id != "" && haveSeq
}

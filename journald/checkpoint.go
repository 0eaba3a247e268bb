package journald

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/podexporter/podexporter/internal/statefile"
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
	text, err := c.load()
	cursor, _, _ := strings.Cut(text, "\n")
	return cursor, err
}

// load returns the checkpoint's whole text (resume.go): the cursor and what a restart
// skips.
func (c *Checkpoint) load() (string, error) {
	b, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read journal checkpoint: %w", err)
	}
	text := strings.TrimSpace(string(b))
	cursor, _, _ := strings.Cut(text, "\n")
	if _, _, ok := cursorSeqnum(cursor); !ok {
		return "", fmt.Errorf("journal checkpoint %s: %w", c.path, ErrBadCheckpoint)
	}
	return text, nil
}

// Save replaces the checkpoint's text (a cursor, and what resume.go adds to it); a
// crash at any point leaves the old or the new one.
func (c *Checkpoint) Save(cursor string) error {
	if err := statefile.Write(c.path, []byte(cursor+"\n")); err != nil {
		return fmt.Errorf("save journal checkpoint: %w", err)
	}
	return nil
}

// cursorRealtime takes the entry's wall-clock time (t=, microseconds) out of a cursor.
func cursorRealtime(cursor string) (uint64, bool) {
	for part := range strings.SplitSeq(cursor, ";") {
		if v, ok := strings.CutPrefix(part, "t="); ok {
			n, err := strconv.ParseUint(v, 16, 64)
			return n, err == nil
		}
	}
	return 0, false
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

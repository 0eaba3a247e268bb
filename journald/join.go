package journald

import (
	"time"
	"unicode/utf8"

	"github.com/podexporter/podexporter/logrecord"
)

// flush emits a joined line.
func (t *tail) flush(key lineID, p *partialLine) {
	delete(t.pending, key)
	rec := p.rec
	body := p.buf
	if len(body) > 0 && body[len(body)-1] == '\n' && !p.cut {
		body = body[:len(body)-1]
	}
	rec.Body = string(body)
	rec.Pieces = p.pieces
	rec.Truncated = p.cut
	if p.pieces > 1 {
		t.r.partialJoined.Add(1)
	}
	if p.cut {
		t.r.linesCut.Add(1)
	}
	t.complete(rec, p.hints, p.from, p.lastUsec)
}

// flushPartialsLive emits, once the reader has caught up, lines whose next piece is
// overdue by the wall clock or whose container has exited: everything the journal
// holds has been read, so what is missing was never written. Multiline records
// waiting for their next line go the same way, after their own timeout.
func (t *tail) flushPartialsLive(now time.Time) {
	for key, p := range t.pending {
		if now.Sub(p.rec.Observed) >= t.cfg.PartialTimeout || t.exited(key.container) {
			t.flush(key, p)
		}
	}
	for key, g := range t.groups {
		if now.Sub(g.rec.Observed) >= t.cfg.MultilineTimeout || t.exited(key.container) {
			t.flushGroup(key, g)
		}
	}
}

// flushPartialsBehind emits, while the reader is behind, only lines whose next piece
// is overdue in the journal's own time (usec, the entry being read): the next piece
// may be the very next entry, so neither the wall clock nor the container's present
// state (exited long ago) says anything about it.
func (t *tail) flushPartialsBehind(usec uint64) {
	timeout := uint64(t.cfg.PartialTimeout.Microseconds())
	for key, p := range t.pending {
		if usec > p.lastUsec && usec-p.lastUsec >= timeout {
			t.flush(key, p)
		}
	}
	for key, g := range t.groups {
		if g.overdue(usec, t.cfg.MultilineTimeout) {
			t.flushGroup(key, g)
		}
	}
}

func (t *tail) exited(id string) bool {
	if t.cfg.Enricher == nil {
		return false
	}
	info, ok := t.cfg.Enricher.Container(id)
	return ok && info.Exited
}

// lineID names a line being joined: a container's stream, told apart by priority.
type lineID struct {
	container string
	priority  int
}

// partialLine is a container line being joined from CONTAINER_PARTIAL_MESSAGE
// pieces.
type partialLine struct {
	rec    logrecord.Record
	hints  hints
	buf    []byte
	pieces int
	cut    bool
	// from is where the first piece was read.
	from origin
	// lastUsec is the journal's receive time of the latest piece.
	lastUsec uint64
}

// origin is where a line's first entry sits in the read sequence: a restart must
// go back before it to read the whole line again rather than half of it.
type origin struct {
	// resume is the cursor of the entry read before it, first its own, order its
	// place in the read sequence.
	resume string
	first  string
	order  uint64
	// reread: it was read while re-reading after the name set grew.
	reread bool
}

// add appends a piece, cutting at limit; pieces past the cut are still counted so
// that the line ends at its real last piece, not in the middle.
func (p *partialLine) add(piece []byte, limit int) {
	p.pieces++
	if p.cut {
		return
	}
	room := limit - len(p.buf)
	if len(piece) <= room {
		p.buf = append(p.buf, piece...)
		return
	}
	// The cut is the line's, not the piece's: conmon splits a line where its buffer
	// fills, inside a character as often as not, so the character the limit falls in
	// may have begun in an earlier piece, or end in the next. Its bytes past the
	// limit show where it ends.
	p.buf = append(p.buf, piece[:min(len(piece), room+utf8.UTFMax-1)]...)
	p.buf = p.buf[:cutLen(p.buf, limit, true)]
	p.cut = true
}

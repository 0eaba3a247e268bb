package journald

import (
	"time"

	"github.com/podexporter/podexporter/journald/logparse"
	"github.com/podexporter/podexporter/journald/multiline"
	"github.com/podexporter/podexporter/logrecord"
)

// group is a multiline record waiting for its next line: the lines its
// container's rule joined so far.
type group struct {
	rec    logrecord.Record
	format logparse.Format
	rule   multiline.Rule
	state  multiline.State
	buf    []byte
	lines  int
	// from is where its first line was read: the cursor stays before it until the
	// record is out, and a restart reads all of it again.
	from origin
	// lastUsec is the journal's receive time of its latest line.
	lastUsec uint64
}

// overdue says whether an entry received at usec comes too late to be the group's
// next line: the rule's timeout, measured in the journal's own time.
func (g *group) overdue(usec uint64, timeout time.Duration) bool {
	return usec > g.lastUsec && usec-g.lastUsec >= uint64(timeout.Microseconds())
}

// complete takes a whole line (its pieces joined): into the multiline record of its
// stream when the rule says it continues it, else it flushes that record and, for
// a container with a multiline rule, begins a record of its own; a line without a
// rule goes straight to the batch. usec is the journal's receive time of its last
// entry.
func (t *tail) complete(rec logrecord.Record, h hints, from origin, usec uint64) {
	rec.Lines = 1
	rec.Size = len(rec.Body)
	if h.rule == nil && len(t.groups) == 0 {
		t.finish(rec, h.format)
		return
	}
	key := lineID{rec.ContainerIDFull, rec.Priority}
	if key.container == "" {
		key.container = rec.ContainerID
	}
	state := multiline.State(0)
	started := false
	if g := t.groups[key]; g != nil {
		if !g.overdue(usec, t.cfg.MultilineTimeout) {
			if s, ok := g.rule.Continue(g.state, rec.Body); ok {
				if g.size()+1+len(rec.Body) <= t.cfg.MaxLineBytes {
					g.add(&rec, s, usec)
					return
				}
				// Full: the record goes out as it is and this line begins the next
				// one in the state it continued with, so nothing is cut.
				t.r.multilineSplits.Add(1)
				state, started = s, true
			}
		}
		t.flushGroup(key, g)
	}
	if h.rule == nil || key.container == "" {
		t.finish(rec, h.format)
		return
	}
	if !started {
		state = h.rule.Start(rec.Body)
	}
	t.groups[key] = &group{rec: rec, format: h.format, rule: h.rule, state: state, lines: 1, from: from, lastUsec: usec}
}

// size is the length of the record so far.
func (g *group) size() int {
	if g.lines == 1 {
		return len(g.rec.Body)
	}
	return len(g.buf)
}

// add appends a continuation line.
func (g *group) add(rec *logrecord.Record, s multiline.State, usec uint64) {
	if g.lines == 1 {
		// Most lines of a container with a rule continue nothing: only a second
		// line makes a buffer worth having.
		g.buf = append(g.buf, g.rec.Body...)
	}
	g.buf = append(g.buf, '\n')
	g.buf = append(g.buf, rec.Body...)
	g.lines++
	g.state = s
	g.lastUsec = usec
	g.rec.Cursor = rec.Cursor
	g.rec.Observed = rec.Observed
	g.rec.Pieces += rec.Pieces
	g.rec.Truncated = g.rec.Truncated || rec.Truncated
}

// flushGroup emits a multiline record, acknowledged by its last line's cursor.
func (t *tail) flushGroup(key lineID, g *group) {
	delete(t.groups, key)
	rec := g.rec
	if g.lines > 1 {
		// A rule may take in empty lines that, as it turned out, ended the record.
		body := g.buf
		for len(body) > 0 && body[len(body)-1] == '\n' {
			body = body[:len(body)-1]
		}
		rec.Body = string(body)
		rec.Lines = g.lines
		rec.Size = len(g.buf) - (g.lines - 1) // the lines as written, without the "\n"s joining them
		t.r.multilineRecords.Add(1)
		t.r.multilineLines.Add(uint64(g.lines))
	}
	t.finish(rec, g.format)
}

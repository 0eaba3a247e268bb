package journald

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A checkpoint's text is the cursor to resume after, followed, when lines were still
// being joined as it was taken, by what a restart needs to deliver them without
// delivering pieces of others again:
//
//	<cursor>
//	read <seqnum id> <seqnum>           the last entry read then
//	open <priority> <seqnum> <container> a stream's line being joined, from its first entry
//
// The cursor is then the entry before the earliest open line, and lines of other
// streams that began before the cursor may have ended after it, already delivered
// (a stdout line split by conmon around stderr lines, a stack trace waiting for its
// next line while another stream went on). A restart reads from the cursor but, up to
// the entry read last, only the open streams' entries from their first: everything
// else there was delivered, and reading it again would deliver the tails of those
// lines as lines of their own.

// skipUntil is a restart's view of the checkpoint's lines.
type skipUntil struct {
	seqID string
	read  uint64
	open  map[lineID]uint64
}

// checkpointText is the text of a checkpoint at safe, the reader's safe cursor.
func (t *tail) checkpointText(safe string) string {
	if safe == "" || (len(t.pending) == 0 && len(t.groups) == 0) {
		return safe
	}
	id, read, ok := cursorSeqnum(t.lastCursor)
	if !ok {
		return safe
	}
	open := map[lineID]uint64{}
	for k, from := range t.openLines() {
		if _, s, ok := cursorSeqnum(from.first); ok {
			if f, seen := open[k]; !seen || s < f {
				open[k] = s
			}
		}
	}
	lines := make([]string, 0, len(open))
	for k, s := range open {
		lines = append(lines, fmt.Sprintf("open %d %x %s", k.priority, s, k.container))
	}
	// Sorted, so that the same state gives the same text and an unchanged position
	// is not saved again.
	slices.Sort(lines)
	return safe + "\nread " + id + " " + strconv.FormatUint(read, 16) + "\n" + strings.Join(lines, "\n")
}

// parseCheckpoint splits a checkpoint's text into its cursor and, when it has them,
// the lines a restart skips. Lines it does not know are ignored, so that an older
// reader can still resume from a newer checkpoint's cursor.
func parseCheckpoint(text string) (string, *skipUntil) {
	cursor, rest, _ := strings.Cut(text, "\n")
	var s skipUntil
	for line := range strings.SplitSeq(rest, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "read":
			n, err := strconv.ParseUint(f[2], 16, 64)
			if err != nil {
				return cursor, nil
			}
			s.seqID, s.read = f[1], n
		case len(f) == 4 && f[0] == "open":
			prio, err1 := strconv.Atoi(f[1])
			n, err2 := strconv.ParseUint(f[2], 16, 64)
			if err1 != nil || err2 != nil {
				return cursor, nil
			}
			if s.open == nil {
				s.open = map[lineID]uint64{}
			}
			s.open[lineID{f[3], prio}] = n
		}
	}
	if s.seqID == "" {
		return cursor, nil
	}
	return cursor, &s
}

// skipped says whether the current entry was delivered before the restart (see
// above); once past the entry read last, nothing is skipped any more.
func (t *tail) skipped() bool {
	id, seq, ok := cursorSeqnum(t.e.cursor)
	if !ok || id != t.skip.seqID || seq > t.skip.read {
		t.skip = nil
		return false
	}
	f := t.e.fields
	cid := f[fContainerIDFull]
	if cid == nil {
		cid = f[fContainerID]
	}
	if cid == nil {
		return true // a unit's message: one entry, delivered
	}
	first, open := t.skip.open[lineID{string(cid), parsePriority(f[fPriority])}]
	return !open || seq < first
}

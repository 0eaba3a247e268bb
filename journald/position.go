package journald

import (
	"math"
	"strconv"
	"time"

	"github.com/podexporter/podexporter/journald/journalstat"
)

// Why a saved checkpoint did not fit the journal: indexes of Reader.mismatches, and
// their reasons (journalstat's Mismatch constants, Stats.CheckpointMismatches).
const (
	mismatchCursorBeyondTail = iota
	mismatchCursorNotSelected
	mismatchReadBeyondTail
	mismatchReadOtherSequence
	nMismatch
)

var mismatchReasons = [nMismatch]string{journalstat.MismatchCursorBeyondTail, journalstat.MismatchCursorNotSelected, journalstat.MismatchReadBeyondTail, journalstat.MismatchReadOtherSequence}

// position places the journal before the first entry to deliver. It returns false
// when the current entry is already that entry (so the loop must not advance).
func (t *tail) position() (bool, error) {
	var saved string
	if cp := t.cfg.Checkpoint; cp != nil {
		var err error
		if saved, err = cp.load(); err != nil {
			t.r.gaps.Add(1)
			t.r.log.Warn("journal checkpoint unusable; starting per --journal.start", "file", cp.Path(), "err", err)
			saved = ""
		}
	}
	if saved == "" {
		return t.startFresh()
	}
	text := saved
	saved, t.skip = parseCheckpoint(text)
	// Before seeking: libsystemd places a foreign cursor by its time and boot, which
	// says nothing about where this journal's unread entries begin, and one past the
	// end of its own journal behind every entry journald writes next.
	id, seq, parsed := cursorSeqnum(saved)
	tails := t.journalTails()
	end, known := tails[id]
	switch {
	case !parsed:
		// Checkpoint.load refuses those; anything else keeps the lossless rule of
		// resuming at the oldest entry.
	case len(tails) > 0 && !known:
		t.r.foreignCursors.Add(1)
		t.r.log.Warn("saved journal cursor belongs to no journal file here (another machine's journal, a restored backup, a moved state volume or a changed machine-id); starting per --journal.start rather than re-reading the whole journal",
			"cursor", saved, "file", t.cfg.Checkpoint.Path())
		return t.startFresh()
	case known && seq > end:
		return t.resumeAfterTime(saved, end)
	}
	if t.dropSkip(saved, tails) {
		text = saved // not to be saved again as the resumed position
	}
	if err := t.j.seekCursor(saved); err != nil {
		t.r.gaps.Add(1)
		t.r.log.Warn("saved journal cursor cannot be sought; starting per --journal.start", "cursor", saved, "err", err)
		return t.startFresh()
	}
	t.lastCursor, t.sealed = saved, text
	ok, err := t.j.next()
	if err != nil {
		return true, err
	}
	if ok {
		same, err := t.j.testCursor(saved)
		if err != nil || same {
			return true, err
		}
	}
	// Not at the cursor's entry: it was vacuumed, or the journal matches (the
	// filters, changed since it was saved) do not select it.
	present, err := t.present(saved)
	if err != nil {
		return true, err
	}
	if !ok {
		if present {
			t.notSelected(saved, "")
			return true, nil
		}
		// Nothing at or after the cursor yet: new entries come after it, and the
		// first of them shows whether anything before it was lost.
		t.unverified = true
		return true, nil
	}
	// present left the handle at the cursor: on to the entry after it again.
	if ok, err = t.j.next(); err != nil || !ok {
		t.unverified = !present
		return true, err
	}
	cur, err := t.j.cursor()
	if err != nil {
		return true, err
	}
	if present {
		t.notSelected(saved, cur)
		return false, nil
	}
	n := t.gap(saved, cur)
	t.r.log.Warn("saved journal cursor is gone (vacuumed or rotated away); resuming at the oldest entry after it the journal holds",
		"cursor", saved, "resume", cur, "lost_entries_at_most", n)
	return false, nil
}

// journalTails reads, from the headers of the journal files this reader reads, where
// each sequence-number series ends.
func (t *tail) journalTails() map[string]uint64 {
	dirs, err := openJournalDirs("/proc/self/fd")
	if err != nil {
		t.r.log.Info("cannot list the open journal files; the saved cursor is checked against the configured ones only", "err", err)
	}
	if t.cfg.Directory != "" {
		dirs = append(dirs, t.cfg.Directory)
	}
	return journalTails(dirs, t.cfg.Files)
}

// resumeAfterTime starts at the first entry written after the time of the cursor's
// entry. The journal ends before that entry: it was restored from an older copy,
// and journald numbers what it writes next from the copy's end, below the cursor, so
// no sequence number tells new entries from delivered ones; their time does.
func (t *tail) resumeAfterTime(cursor string, end uint64) (bool, error) {
	t.r.mismatches[mismatchCursorBeyondTail].Add(1)
	// What the checkpoint says to skip names entries of the lost end too.
	t.skip = nil
	usec, ok := cursorRealtime(cursor)
	if !ok || usec >= math.MaxInt64 {
		t.r.log.Warn("saved journal cursor is past the end of the journal and names no time; starting per --journal.start",
			"cursor", cursor, "journal_last_seqnum", end)
		return t.startFresh()
	}
	// since also brings a re-read after new names, or a reopen before the first
	// entry, back here (seekStart).
	t.since = time.UnixMicro(int64(usec) + 1)
	t.r.log.Warn("saved journal cursor is past the end of the journal (restored from an older copy?); resuming at the first entry written after the cursor's time",
		"cursor", cursor, "journal_last_seqnum", end, "after", time.UnixMicro(int64(usec)).UTC())
	return true, t.j.seekRealtime(t.since)
}

// dropSkip drops the checkpoint's read line (resume.go) when it cannot belong with
// the cursor: of another sequence, or past the end of the journal (restored from an
// older copy). Followed, it would pass over entries never delivered, up to one the
// journal may never hold again. Without it, lines joined across the cursor may be
// delivered again in part, which loses nothing.
func (t *tail) dropSkip(cursor string, tails map[string]uint64) bool {
	s := t.skip
	if s == nil {
		return false
	}
	id, _, _ := cursorSeqnum(cursor)
	end, known := tails[id]
	var reason int
	switch {
	case s.seqID != id:
		reason = mismatchReadOtherSequence
	case known && s.read > end:
		reason = mismatchReadBeyondTail
	default:
		return false
	}
	t.skip = nil
	t.r.mismatches[reason].Add(1)
	t.r.log.Warn("journal checkpoint's read line does not fit its cursor; ignoring it and resuming right after the cursor (lines joined across it may come again in part)",
		"reason", mismatchReasons[reason], "cursor", cursor, "read", s.seqID+" "+strconv.FormatUint(s.read, 16), "journal_last_seqnum", end)
	return true
}

// present says whether the journal holds the entry at cursor, whatever the matches,
// and leaves the handle sought to the cursor (nothing read) with the matches as they
// were.
func (t *tail) present(cursor string) (bool, error) {
	t.j.flushMatches()
	same, err := t.atCursor(cursor)
	if err != nil {
		// Not known to be there: taken as gone, as before this was looked at.
		t.r.log.Debug("cannot look for the saved cursor's entry without the journal matches", "cursor", cursor, "err", err)
		same = false
	}
	// The matches come back whatever happened: without them the reader would
	// deliver what the filters leave out.
	if err := t.addMatches(t.j); err != nil {
		return false, err
	}
	return same, t.j.seekCursor(cursor)
}

// atCursor seeks cursor and says whether the entry there is the cursor's.
func (t *tail) atCursor(cursor string) (bool, error) {
	if err := t.j.seekCursor(cursor); err != nil {
		return false, err
	}
	ok, err := t.j.next()
	if err != nil || !ok {
		return false, err
	}
	return t.j.testCursor(cursor)
}

// notSelected notes a saved cursor whose entry is still in the journal but not
// selected by the current filters (they changed): nothing was lost, and reading
// resumes at the next entry they select (resume; "" when none came yet).
func (t *tail) notSelected(cursor, resume string) {
	t.unselected = cursor
	t.r.mismatches[mismatchCursorNotSelected].Add(1)
	t.r.log.Info("saved journal cursor's entry is not selected by the current filters (they changed); resuming at the next entry they select",
		"cursor", cursor, "resume", resume)
}

func (t *tail) startFresh() (bool, error) {
	switch t.cfg.Start {
	case StartHead:
		return true, t.j.seekHead()
	case StartSince:
		t.since = time.Now().Add(-t.cfg.Since)
		return true, t.j.seekRealtime(t.since)
	}
	if err := t.j.seekTail(); err != nil {
		return true, err
	}
	ok, err := t.j.previous()
	if err != nil {
		return true, err
	}
	if !ok {
		// Nothing matches yet, so everything that arrives is new: from the head,
		// no first entry can be skipped.
		return true, t.j.seekHead()
	}
	t.lastCursor, err = t.j.cursor()
	return true, err
}

// seekStart seeks where startFresh did, when it read no entry there: the head, or
// the time --journal.start named.
func (t *tail) seekStart() error {
	if t.since.IsZero() {
		return t.j.seekHead()
	}
	return t.j.seekRealtime(t.since)
}

// gap counts entries lost between two cursors and returns the sequence-number
// distance (0 when the cursors come from different sequences).
func (t *tail) gap(from, to string) uint64 {
	t.r.gaps.Add(1)
	id1, s1, ok1 := cursorSeqnum(from)
	id2, s2, ok2 := cursorSeqnum(to)
	if !ok1 || !ok2 || id1 != id2 || s2 <= s1+1 {
		return 0
	}
	t.r.gapEntries.Add(s2 - s1 - 1)
	return s2 - s1 - 1
}

// checkPosition goes back to the last entry read after the journal's files
// changed. When that entry is gone, the entries after it may be gone too: count
// the gap and go on with the next entry the journal still holds.
func (t *tail) checkPosition() (bool, error) {
	if t.lastCursor == "" {
		return true, nil
	}
	if err := t.j.seekCursor(t.lastCursor); err != nil {
		return true, err
	}
	ok, err := t.j.next()
	if err != nil || !ok {
		// Nothing at or after it: whether it is gone shows only when the next
		// entry comes, so look back from it.
		t.unverified = true
		return true, err
	}
	same, err := t.j.testCursor(t.lastCursor)
	if err != nil || same {
		return true, err
	}
	if t.lastCursor == t.unselected {
		return false, nil // the next selected entry after one the filters leave out
	}
	cur, err := t.j.cursor()
	if err != nil {
		return true, err
	}
	n := t.gap(t.lastCursor, cur)
	t.r.log.Warn("journal entries vanished before they were read (vacuum or rotation while behind)", "last_read", t.lastCursor, "resume", cur, "lost_entries_at_most", n)
	return false, nil
}

// checkStep counts a gap when the entry just read does not follow the last one:
// libsystemd drops a file deleted under it (a vacuum while behind) without an
// error and goes on in the next file. Only a jump in sequence numbers after a
// deletion can hide that, so only then is the entry before the current one
// looked at.
func (t *tail) checkStep() {
	unverified := t.unverified
	t.unverified = false
	if t.lastCursor == "" {
		return
	}
	id1, s1, ok1 := cursorSeqnum(t.lastCursor)
	id2, s2, ok2 := cursorSeqnum(t.e.cursor)
	if ok1 && ok2 && id1 == id2 && s2 == s1+1 || t.lastCursor == t.unselected {
		return
	}
	if t.del != nil && !t.vanishing && !unverified {
		if !t.del.seen() {
			return
		}
		t.vanishing = true
	}
	same, err := t.j.precededBy(t.lastCursor)
	if err != nil {
		t.r.log.Warn("journal position check failed", "err", err)
		return
	}
	if same {
		return
	}
	n := t.gap(t.lastCursor, t.e.cursor)
	t.r.log.Warn("journal entries vanished before they were read (vacuum while behind)", "last_read", t.lastCursor, "resume", t.e.cursor, "lost_entries_at_most", n)
}

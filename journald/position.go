package journald

import "time"

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
	// says nothing about where this journal's unread entries begin.
	if t.foreign(saved) {
		t.r.foreignCursors.Add(1)
		t.r.log.Warn("saved journal cursor belongs to no journal file here (another machine's journal, a restored backup, a moved state volume or a changed machine-id); starting per --journal.start rather than re-reading the whole journal",
			"cursor", saved, "file", t.cfg.Checkpoint.Path())
		return t.startFresh()
	}
	if err := t.j.seekCursor(saved); err != nil {
		t.r.gaps.Add(1)
		t.r.log.Warn("saved journal cursor cannot be sought; starting per --journal.start", "cursor", saved, "err", err)
		return t.startFresh()
	}
	t.lastCursor, t.sealed = saved, text
	ok, err := t.j.next()
	if err != nil || !ok {
		// Nothing at or after the cursor yet: new entries come after it, and the
		// first of them shows whether the cursor's entry is still there.
		t.unverified = true
		return true, err
	}
	same, err := t.j.testCursor(saved)
	if err != nil {
		return true, err
	}
	if same {
		return true, nil
	}
	cur, err := t.j.cursor()
	if err != nil {
		return true, err
	}
	n := t.gap(saved, cur)
	t.r.log.Warn("saved journal cursor is gone (vacuumed or rotated away); resuming at the oldest entry after it the journal holds",
		"cursor", saved, "resume", cur, "lost_entries_at_most", n)
	return false, nil
}

// foreign says no journal file this reader reads knows the cursor's sequence-number
// id. A cursor that cannot be parsed is not called foreign: Checkpoint.Load refuses
// those, and anything else keeps the lossless rule of resuming at the oldest entry.
func (t *tail) foreign(cursor string) bool {
	id, _, ok := cursorSeqnum(cursor)
	if !ok {
		return false
	}
	dirs, err := openJournalDirs("/proc/self/fd")
	if err != nil {
		t.r.log.Info("cannot list the open journal files; treating the saved cursor as vacuumed, not foreign", "err", err)
		return false
	}
	if t.cfg.Directory != "" {
		dirs = append(dirs, t.cfg.Directory)
	}
	known := knownSeqnumIDs(dirs, t.cfg.Files)
	return len(known) > 0 && !known[id]
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
	if ok1 && ok2 && id1 == id2 && s2 == s1+1 {
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

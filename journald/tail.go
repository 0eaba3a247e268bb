package journald

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/podexporter/podexporter/logrecord"
)

// waitTimeout bounds each sd_journal_wait: the owning goroutine checks its context
// in between, and nothing else may touch the handle.
const waitTimeout = 200 * time.Millisecond

// idleWait bounds a wait when nothing is due: the journal's descriptor wakes the
// reader, and its context ends the wait, so this is only a safety net (where the
// descriptor cannot be polled, waits stay within waitTimeout).
const idleWait = 5 * time.Second

// DefaultLinger is how long a caught-up reader waits, once the journal says it
// changed, before reading on. journald appends entry by entry and wakes a reader
// at each; reading at once cost a wake-up and a read of a line or two each time
// on a live host. Waiting lets a burst gather, to be read and sent as one batch,
// and holds a line at most this much longer.
const DefaultLinger = 250 * time.Millisecond

// tail is the read loop's state, owned by the goroutine in Run.
type tail struct {
	r   *Reader
	cfg *Config
	j   *journal
	e   rawEntry

	// lastCursor is the entry read last; sealed the cursor of the last sealed batch.
	lastCursor string
	sealed     string
	batch      []logrecord.Record
	batchStart time.Time
	order      uint64
	pending    map[lineID]*partialLine
	// groups are the multiline records waiting for their next line.
	groups map[lineID]*group
	// rules caches the multiline rules containers' labels name; hintWarned the
	// label values already logged as invalid, and parseWarned the containers whose
	// lines already failed to parse.
	rules       map[string]labelRule
	hintWarned  map[string]bool
	parseWarned map[string]bool
	interned    map[string]string
	nameOK      map[string]bool
	// selected holds Config.Select's decision per container id (select.go).
	selected map[string]choice
	errors   int

	// del reports deleted journal files; vanishing says one was deleted that
	// libsystemd may not have noticed yet, so every jump must be looked at.
	// unverified says the last entry read could not be found again and no entry
	// came after it yet: the next one shows whether anything was lost.
	del        *deletions
	vanishing  bool
	unverified bool
	// unselected is a saved cursor whose entry is in the journal but not selected by
	// the filters (notSelected): stepping from it to the next selected entry skips
	// entries, and loses none.
	unselected string
	sigbus     int64 // truncated pages seen when last logged

	// nm matches container names in the journal; nil when the name filters are
	// applied per entry only. since is where a fresh start sought (zero: the head),
	// for going back there.
	nm    *nameMatches
	since time.Time
	// names lists the container names for nm from the files that can still gain
	// entries (names.go); nil while nm is.
	names *nameLister

	// skip, after a restart from a checkpoint taken while lines were being joined,
	// says which entries up to the last one read then were delivered (resume.go).
	skip *skipUntil

	// lastDrop is when the read journal pages were last unmapped, mapsBuf the
	// buffer their list is read into (residency.go).
	lastDrop time.Time
	mapsBuf  []byte
}

// location is where the journal is read.
func (t *tail) location() location {
	return location{Files: t.cfg.Files, Directory: t.cfg.Directory, Namespace: t.cfg.Namespace}
}

func (t *tail) open() error {
	j, err := openJournal(t.location())
	if err != nil {
		t.openFailed(err)
		return err
	}
	if t.j == nil && t.nm == nil {
		// The first open only: a reopen keeps the set, since names listed anew
		// would skip the new ones' entries behind the position.
		t.initNames(j)
	}
	if err := t.addMatches(j); err != nil {
		j.close()
		return err
	}
	j.setFields(t.r.fields.names)
	t.j = j
	t.names.filesChanged()
	t.checkReadable()
	t.watchDeletions()
	return nil
}

// watchDeletions follows the directories of the open journal files. Without it
// every jump in sequence numbers is looked at: correct, only slower.
func (t *tail) watchDeletions() {
	if t.del == nil {
		d, err := newDeletions()
		if err != nil {
			t.r.log.Info("cannot watch journal directories; checking every jump in sequence numbers instead", "err", err)
			return
		}
		t.del = d
	}
	if err := t.del.watch(); err != nil {
		t.r.log.Info("cannot watch journal directories; checking every jump in sequence numbers instead", "err", err)
		t.del.close()
		t.del = nil
	}
}

// wait waits for the journal to change. Deletions seen so far are libsystemd's
// to notice in it (it then reports an invalidation and checkPosition looks back);
// only those after this point still need looking at jumps.
func (t *tail) wait(ctx context.Context, d time.Duration) (int, error) {
	if t.del != nil {
		t.del.seen()
		t.vanishing = false
	}
	res, err := t.j.waitCtx(ctx, d)
	if err == nil && res == waitInvalidate {
		// libsystemd added or dropped files.
		t.names.filesChanged()
		if t.del != nil {
			t.watchDeletions()
		}
	}
	return res, err
}

func (t *tail) loop(ctx context.Context, batches chan<- batch, advance bool) error {
	caughtUp := false
	var sinceCheck, sinceDrop int
	for ctx.Err() == nil {
		ok, err := t.j.read(advance, &t.e)
		stepped := advance
		advance = true
		if err != nil {
			if advance, err = t.recover(ctx, err); err != nil {
				return err
			}
			continue
		}
		t.errors = 0
		now := time.Now()
		if !ok {
			if !caughtUp {
				caughtUp = true
				t.r.caughtUp.Store(true)
				if sinceDrop > 0 && now.Sub(t.lastDrop) >= dropIdleEvery {
					t.dropJournalPages()
					sinceDrop = 0
				}
			}
			// Re-reading that reaches the end did not meet the entry it ran up to
			// (vacuumed meanwhile): there is nothing left to pass over.
			t.nm.reread()
			t.flushPartialsLive(now)
			if err := t.seal(ctx, batches); err != nil {
				return stopped(ctx, err)
			}
			if t.nm.rereading() {
				continue // the name set grew: re-read before waiting
			}
			res, err := t.wait(ctx, t.waitFor(now))
			if err == nil && res != waitNop {
				t.nm.changed()
				if err := t.linger(ctx); err != nil {
					return nil
				}
			}
			if err == nil && res == waitInvalidate {
				t.checkReadable()
				advance, err = t.checkPosition()
			}
			if err != nil {
				if advance, err = t.recover(ctx, err); err != nil {
					return err
				}
			}
			continue
		}
		if caughtUp {
			caughtUp = false
			t.r.caughtUp.Store(false)
		}
		if stepped {
			t.checkStep()
		}
		if t.rereadSkip() {
			t.lastCursor = t.e.cursor
			continue
		}
		t.handle(now)
		if sinceDrop++; sinceDrop >= dropEvery {
			sinceDrop = 0
			t.dropJournalPages()
		}
		if sinceCheck++; sinceCheck >= t.r.checkEvery {
			sinceCheck = 0
			t.flushPartialsBehind(t.e.realtime)
		}
		if len(t.batch) >= t.cfg.BatchSize || (len(t.batch) > 0 && now.Sub(t.batchStart) >= t.cfg.BatchAge) {
			if err := t.seal(ctx, batches); err != nil {
				return stopped(ctx, err)
			}
		}
	}
	return nil
}

// waitFor is how long the caught-up reader may wait for the journal: until a line
// being joined may be due, or a held cursor's listing, else idleWait.
func (t *tail) waitFor(now time.Time) time.Duration {
	d := idleWait
	if len(t.pending) > 0 || len(t.groups) > 0 {
		d = waitTimeout
	}
	return t.nm.heldFor(now, t.namesEvery(), d)
}

// linger waits the reader's linger after the journal changed while caught up;
// it returns ctx's error when ctx ended meanwhile.
func (t *tail) linger(ctx context.Context) error {
	d := t.r.linger
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// recover handles a failed read. EBADMSG after a vacuum, rotation or a journald
// restart are expected: wait (which makes libsystemd drop vanished files and add
// new ones), go back to the last entry read, and count what was lost. Repeated
// failures reopen the journal.
func (t *tail) recover(ctx context.Context, cause error) (bool, error) {
	t.r.readErrors.Add(1)
	t.errors++
	if n := sigbusSeen(); n > t.sigbus {
		t.sigbus = n
		t.r.log.Warn("a journal file was truncated while being read (vacuum); its pages read as zeros and it is dropped", "err", cause)
	} else {
		t.r.log.Warn("journal read failed; recovering", "err", cause, "attempt", t.errors)
	}
	select {
	case <-ctx.Done():
		return true, nil
	case <-time.After(min(time.Duration(t.errors)*100*time.Millisecond, 2*time.Second)):
	}
	if t.errors%5 == 0 {
		t.j.close()
		if err := t.open(); err != nil {
			// Without a handle nothing can go on; the daemon restarts us.
			return true, fmt.Errorf("reopen journal: %w", err)
		}
		if t.lastCursor == "" {
			// Nothing read yet: back where reading started. A start by time
			// (--journal.start, or a cursor past the journal's end) goes back to
			// that time, not to a --journal.start that says tail.
			if t.nm.rereading() || !t.since.IsZero() {
				return true, t.seekStart()
			}
			_, err := t.startFresh()
			return true, err
		}
	} else if _, err := t.wait(ctx, 0); err != nil {
		return true, nil
	}
	advance, err := t.checkPosition()
	if err != nil {
		t.r.log.Warn("journal position check failed", "err", err)
	}
	return advance, nil
}

// seal hands the current batch to the delivery goroutine, blocking while
// InFlight batches wait: that is the backpressure that stops reading.
func (t *tail) seal(ctx context.Context, batches chan<- batch) error {
	c, err := t.verifiedCursor(t.checkpointText(t.safeCursor()), time.Now())
	if err != nil {
		// The matches could not be set again (libsystemd out of memory): the
		// daemon restarts the reader, which resumes at the saved cursor.
		return fmt.Errorf("change the journal matches: %w", err)
	}
	if len(t.batch) == 0 && c == t.sealed {
		return nil
	}
	select {
	case batches <- batch{records: t.batch, cursor: c}:
	case <-ctx.Done():
		if t.nm != nil {
			t.nm.want = "" // it covers this batch, which the sink never gets
		}
		return ctx.Err()
	}
	t.batch = t.r.free.Get()
	t.sealed = c
	return nil
}

// stopped is what the read loop returns when sealing failed: nothing when ctx ended.
func stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// safeCursor is the last entry read, or when a line is still being joined, the
// entry before its first piece: a restart then reads the whole line again rather
// than half of it.
func (t *tail) safeCursor() string {
	c := t.lastCursor
	var first uint64 = 1<<64 - 1
	for _, from := range t.openLines() {
		if from.order < first {
			first, c = from.order, from.resume
		}
	}
	return c
}

// openLines yields every line still open, with where it began: those whose pieces
// are being joined and the multiline records waiting for their next line. A stream
// may have one of each.
func (t *tail) openLines() iter.Seq2[lineID, origin] {
	return func(yield func(lineID, origin) bool) {
		for k, p := range t.pending {
			if !yield(k, p.from) {
				return
			}
		}
		for k, g := range t.groups {
			if !yield(k, g.from) {
				return
			}
		}
	}
}

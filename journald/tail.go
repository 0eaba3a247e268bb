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

	// skip, after a restart from a checkpoint taken while lines were being joined,
	// says which entries up to the last one read then were delivered (resume.go).
	skip *skipUntil

	// lastDrop is when the read journal pages were last unmapped (residency.go).
	lastDrop time.Time
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
func (t *tail) wait(d time.Duration) (int, error) {
	if t.del != nil {
		t.del.seen()
		t.vanishing = false
	}
	res, err := t.j.wait(d)
	if err == nil && res == waitInvalidate && t.del != nil {
		t.watchDeletions()
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
			res, err := t.wait(t.nm.heldFor(now, t.namesEvery()))
			if err == nil && res != waitNop {
				t.nm.changed()
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
	} else if _, err := t.wait(0); err != nil {
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
	t.batch = make([]logrecord.Record, 0, min(t.cfg.BatchSize, 1024))
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

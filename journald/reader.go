package journald

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// StartMode says where a reader without a usable checkpoint begins.
type StartMode int

const (
	// StartTail reads only entries written after the reader started.
	StartTail StartMode = iota
	// StartHead reads everything the journal still holds.
	StartHead
	// StartSince reads entries from Config.Since ago on.
	StartSince
)

// Config says what a Reader reads and where it hands the records.
type Config struct {
	// Source: Files (for fixtures), else Directory, else Namespace, else the local
	// journal.
	Files     []string
	Directory string
	Namespace string

	// Units are systemd units whose every message is read, besides container lines.
	Units []string
	// Container filters, by CONTAINER_NAME; nil lets everything through.
	IncludeContainer *regexp.Regexp
	ExcludeContainer *regexp.Regexp
	// Unit filters for container lines, by the entry's _SYSTEMD_UNIT or else the
	// container's Quadlet unit from the Enricher.
	IncludeUnit *regexp.Regexp
	ExcludeUnit *regexp.Regexp
	// MaxPriority drops entries whose PRIORITY is above it or missing; nil keeps
	// all.
	MaxPriority *int

	Start StartMode
	Since time.Duration

	// MaxLineBytes caps a line, joined or not; longer ones are cut and counted.
	MaxLineBytes int
	// PartialTimeout flushes a line whose last piece never came (conmon flags a
	// final line without newline as partial too).
	PartialTimeout time.Duration
	// BatchSize and BatchAge bound a batch: it is handed to the sink when full,
	// when it is BatchAge old, or when the reader has caught up.
	BatchSize int
	BatchAge  time.Duration
	// InFlight is how many sealed batches may wait for the sink before reading
	// stops.
	InFlight int
	// ExtraFields are journal fields copied into Record.Extra when present.
	ExtraFields []string
	// Labels is the allowlist of container labels copied from the Enricher.
	Labels []string

	// Checkpoint keeps the cursor across restarts; nil starts per Start each time.
	Checkpoint *Checkpoint
	Sink       Sink
	// Enricher is optional.
	Enricher Enricher
	Logger   *slog.Logger
}

// Defaults for the zero values of Config.
const (
	DefaultMaxLineBytes   = 1 << 20
	DefaultPartialTimeout = 2 * time.Second
	DefaultBatchSize      = 1000
	DefaultBatchAge       = time.Second
	DefaultInFlight       = 4
)

// waitTimeout bounds each sd_journal_wait: the owning goroutine checks its context
// in between, and nothing else may touch the handle.
const waitTimeout = 200 * time.Millisecond

// Fields the reader always reads, by index into rawEntry.fields.
const (
	fMessage = iota
	fPriority
	fContainerIDFull
	fContainerID
	fContainerName
	fContainerTag
	fPartial
	fSourceTime
	fHostname
	fBootID
	fUnit
	fIdentifier
	nFixed
)

var fixedFields = [nFixed]string{
	"MESSAGE", "PRIORITY", "CONTAINER_ID_FULL", "CONTAINER_ID", "CONTAINER_NAME", "CONTAINER_TAG",
	"CONTAINER_PARTIAL_MESSAGE", "_SOURCE_REALTIME_TIMESTAMP", "_HOSTNAME", "_BOOT_ID", "_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER",
}

// Reader tails the journal and hands records to a sink, saving the cursor only
// after the sink acknowledged them.
type Reader struct {
	cfg Config
	log *slog.Logger

	entriesRead   atomic.Uint64
	commits       atomic.Uint64
	saveErrors    atomic.Uint64
	gaps          atomic.Uint64
	gapEntries    atomic.Uint64
	partialJoined atomic.Uint64
	partialCut    atomic.Uint64
	readErrors    atomic.Uint64
	// foreignCursors counts saved cursors from another journal.
	foreignCursors atomic.Uint64
	sinkRetries    atomic.Uint64
	delivered      atomic.Uint64
	newestUsec     atomic.Int64
	caughtUp       atomic.Bool

	mu    sync.Mutex
	lines map[lineKey]*lineCount

	// checkEvery is how many entries the reader reads between looks at the lines it
	// is joining (tests shorten it to cross many looks with a small journal).
	checkEvery int
}

type lineKey struct{ id, name, stream string }

type lineCount struct {
	lines, bytes uint64
	seen         time.Time
}

// NewReader checks cfg and fills in defaults.
func NewReader(cfg Config) (*Reader, error) {
	if cfg.Sink == nil {
		return nil, errors.New("journal reader: no sink")
	}
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = DefaultMaxLineBytes
	}
	if cfg.PartialTimeout <= 0 {
		cfg.PartialTimeout = DefaultPartialTimeout
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchAge <= 0 {
		cfg.BatchAge = DefaultBatchAge
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = DefaultInFlight
	}
	if len(cfg.ExtraFields) > 1<<15 {
		return nil, errors.New("journal reader: too many extra fields")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{cfg: cfg, log: log.With("source", "journal"), lines: map[lineKey]*lineCount{}, checkEvery: 4096}, nil
}

// Stats is a snapshot of the reader's counters.
type Stats struct {
	EntriesRead      uint64
	RecordsDelivered uint64
	CursorCommits    uint64
	CursorSaveErrors uint64
	// Gaps counts the times entries were lost before they were read (cursor gone
	// after vacuum or rotation, unusable checkpoint); GapEntries sums the
	// sequence-number distance, which includes entries that would not have matched.
	Gaps       uint64
	GapEntries uint64
	// ForeignCursors counts saved cursors whose sequence-number id no journal file
	// knows: reading then started per Start, not at the oldest entry.
	ForeignCursors uint64
	PartialJoined  uint64
	PartialCut     uint64
	ReadErrors     uint64
	SinkRetries    uint64
	// Lag is now minus the newest entry's time while the reader is behind; 0 once
	// it has caught up.
	Lag        time.Duration
	Containers []ContainerLogStats
}

// ContainerLogStats counts the delivered lines of one container stream.
type ContainerLogStats struct {
	ID     string
	Name   string
	Stream string
	Lines  uint64
	Bytes  uint64
}

// Stats returns the counters; safe to call from any goroutine.
func (r *Reader) Stats() Stats {
	s := Stats{
		EntriesRead:      r.entriesRead.Load(),
		RecordsDelivered: r.delivered.Load(),
		CursorCommits:    r.commits.Load(),
		CursorSaveErrors: r.saveErrors.Load(),
		Gaps:             r.gaps.Load(),
		GapEntries:       r.gapEntries.Load(),
		ForeignCursors:   r.foreignCursors.Load(),
		PartialJoined:    r.partialJoined.Load(),
		PartialCut:       r.partialCut.Load(),
		ReadErrors:       r.readErrors.Load(),
		SinkRetries:      r.sinkRetries.Load(),
	}
	if n := r.newestUsec.Load(); n > 0 && !r.caughtUp.Load() {
		s.Lag = max(0, time.Since(time.UnixMicro(n)))
	}
	r.mu.Lock()
	for k, c := range r.lines {
		s.Containers = append(s.Containers, ContainerLogStats{ID: k.id, Name: k.name, Stream: k.stream, Lines: c.lines, Bytes: c.bytes})
	}
	r.mu.Unlock()
	return s
}

// batch is a sealed group of records and the cursor that is safe to save once the
// sink has them: no entry at or before it is still waiting in the reader.
type batch struct {
	records []Record
	cursor  string
}

// Run reads until ctx ends. It calls started once the journal is open and
// positioned. Records not yet acknowledged when ctx ends are read again on the
// next start, since their cursor was never saved.
func (r *Reader) Run(ctx context.Context, started func()) error {
	t := &tail{r: r, cfg: &r.cfg, pending: map[lineID]*partialLine{}, intern: map[string]string{}}
	if err := t.open(); err != nil {
		return err
	}
	defer func() { t.j.close(); t.del.close() }()
	advance, err := t.position()
	if err != nil {
		return err
	}
	if started != nil {
		started()
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batch, r.cfg.InFlight)
	var deliverErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		deliverErr = r.deliver(ctx, batches)
		if deliverErr != nil {
			cancel()
		}
	})
	err = t.loop(ctx, batches, advance)
	close(batches)
	wg.Wait()
	if deliverErr != nil {
		return deliverErr
	}
	return err
}

// deliver hands batches to the sink one at a time, retrying until it accepts, and
// saves each batch's cursor after. One batch at a time means a crash can repeat at
// most the batch that was being delivered.
func (r *Reader) deliver(ctx context.Context, batches <-chan batch) error {
	saved := ""
	saveFailing := false
	for b := range batches {
		if len(b.records) > 0 {
			backoff := 100 * time.Millisecond
			for attempt := 1; ; attempt++ {
				err := r.cfg.Sink.Deliver(ctx, b.records)
				if err == nil {
					if attempt > 1 {
						r.log.Info("sink accepts batches again", "attempts", attempt)
					}
					break
				}
				if ctx.Err() != nil {
					return nil
				}
				r.sinkRetries.Add(1)
				if attempt == 1 {
					// Once per outage: the retries are counted, not logged.
					r.log.Warn("sink refused a batch; retrying, journal reading paused", "records", len(b.records), "err", err)
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 10*time.Second)
			}
			r.delivered.Add(uint64(len(b.records)))
			r.account(b.records)
		}
		if b.cursor == "" || b.cursor == saved || r.cfg.Checkpoint == nil {
			continue
		}
		// Saved even when ctx has ended: the sink has these records. A failed save
		// (state directory full or read-only) stops nothing: the records are
		// delivered, and only a restart before the next save sends them again.
		if err := r.cfg.Checkpoint.Save(b.cursor); err != nil {
			r.saveErrors.Add(1)
			if !saveFailing {
				saveFailing = true
				r.log.Warn("cannot save the journal cursor; delivery goes on, and a restart before it is saved again sends again what was delivered since", "err", err)
			}
			continue
		}
		if saveFailing {
			saveFailing = false
			r.log.Info("journal cursor saved again", "file", r.cfg.Checkpoint.Path())
		}
		saved = b.cursor
		r.commits.Add(1)
	}
	return nil
}

// lineIdle is how long a container stream's counters stay after its last line, so
// that removed containers do not grow the series forever.
const lineIdle = time.Hour

func (r *Reader) account(recs []Record) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range recs {
		rec := &recs[i]
		if rec.ContainerID == "" {
			continue
		}
		k := lineKey{rec.ContainerID, rec.ContainerName, rec.Stream}
		c := r.lines[k]
		if c == nil {
			c = &lineCount{seen: now} // not idle: the sweep below must not take it
			r.lines[k] = c
			for k, c := range r.lines {
				if now.Sub(c.seen) > lineIdle {
					delete(r.lines, k)
				}
			}
		}
		c.lines++
		c.bytes += uint64(len(rec.Body))
		c.seen = now
	}
}

// tail is the read loop's state, owned by the goroutine in Run.
type tail struct {
	r   *Reader
	cfg *Config
	j   *journal
	e   rawEntry

	// lastCursor is the entry read last; sealed the cursor of the last sealed batch.
	lastCursor string
	sealed     string
	batch      []Record
	batchStart time.Time
	order      uint64
	pending    map[lineID]*partialLine
	intern     map[string]string
	nameOK     map[string]bool
	errors     int

	// del reports deleted journal files; vanishing says one was deleted that
	// libsystemd may not have noticed yet, so every jump must be looked at.
	// unverified says the last entry read could not be found again and no entry
	// came after it yet: the next one shows whether anything was lost.
	del        *deletions
	vanishing  bool
	unverified bool
	sigbus     int64 // truncated pages seen when last logged
}

func (t *tail) open() error {
	j, err := openJournal(source{Files: t.cfg.Files, Directory: t.cfg.Directory, Namespace: t.cfg.Namespace})
	if err != nil {
		return err
	}
	// conmon's entries, or the whole of a selected unit. Matches on different
	// fields AND unless separated by a disjunction.
	err = j.addMatch("_COMM=conmon")
	if err == nil && len(t.cfg.Units) > 0 {
		err = j.addDisjunction()
		for _, u := range t.cfg.Units {
			if err == nil {
				err = j.addMatch("_SYSTEMD_UNIT=" + u)
			}
		}
	}
	if err != nil {
		j.close()
		return err
	}
	j.setFields(append(fixedFields[:], t.cfg.ExtraFields...))
	t.j = j
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

// position places the journal before the first entry to deliver. It returns false
// when the current entry is already that entry (so the loop must not advance).
func (t *tail) position() (bool, error) {
	var saved string
	if cp := t.cfg.Checkpoint; cp != nil {
		var err error
		if saved, err = cp.Load(); err != nil {
			t.r.gaps.Add(1)
			t.r.log.Warn("journal checkpoint unusable; starting per --journal.start", "file", cp.Path(), "err", err)
			saved = ""
		}
	}
	if saved == "" {
		return t.startFresh()
	}
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
	t.lastCursor, t.sealed = saved, saved
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
		return true, t.j.seekRealtime(time.Now().Add(-t.cfg.Since))
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

func (t *tail) loop(ctx context.Context, batches chan<- batch, advance bool) error {
	caughtUp := false
	var sinceCheck int
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
			}
			t.flushPartialsLive(now)
			if err := t.seal(ctx, batches); err != nil {
				return nil
			}
			res, err := t.wait(waitTimeout)
			if err == nil && res == waitInvalidate {
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
		t.handle(now)
		if sinceCheck++; sinceCheck >= t.r.checkEvery {
			sinceCheck = 0
			t.flushPartialsBehind(t.e.realtime)
		}
		if len(t.batch) >= t.cfg.BatchSize || (len(t.batch) > 0 && now.Sub(t.batchStart) >= t.cfg.BatchAge) {
			if err := t.seal(ctx, batches); err != nil {
				return nil
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

// seal hands the current batch to the delivery goroutine, blocking while
// InFlight batches wait: that is the backpressure that stops reading.
func (t *tail) seal(ctx context.Context, batches chan<- batch) error {
	c := t.safeCursor()
	if len(t.batch) == 0 && c == t.sealed {
		return nil
	}
	select {
	case batches <- batch{records: t.batch, cursor: c}:
	case <-ctx.Done():
		return ctx.Err()
	}
	t.batch = make([]Record, 0, min(t.cfg.BatchSize, 1024))
	t.sealed = c
	return nil
}

// safeCursor is the last entry read, or when a line is still being joined, the
// entry before its first piece: a restart then reads the whole line again rather
// than half of it.
func (t *tail) safeCursor() string {
	c := t.lastCursor
	var first uint64 = 1<<64 - 1
	for _, p := range t.pending {
		if p.order < first {
			first, c = p.order, p.resume
		}
	}
	return c
}

func (t *tail) str(b []byte) string {
	if b == nil {
		return ""
	}
	if s, ok := t.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(t.intern) < 4096 {
		t.intern[s] = s
	}
	return s
}

func parsePriority(b []byte) int {
	if len(b) == 1 && b[0] >= '0' && b[0] <= '7' {
		return int(b[0] - '0')
	}
	return -1
}

// handle turns the current entry into a record, or into a piece of one.
func (t *tail) handle(now time.Time) {
	e := &t.e
	f := e.fields
	prevCursor := t.lastCursor
	t.lastCursor = e.cursor
	t.order++
	t.r.entriesRead.Add(1)
	t.r.newestUsec.Store(int64(e.realtime))

	prio := parsePriority(f[fPriority])
	// Like journalctl -p, a priority filter drops entries that have no PRIORITY.
	if mp := t.cfg.MaxPriority; mp != nil && (prio > *mp || prio < 0) {
		return
	}
	id := f[fContainerIDFull]
	if id == nil {
		id = f[fContainerID]
	}
	if id == nil {
		// conmon's own messages have no container; only selected units' are wanted.
		if f[fUnit] == nil || !t.unitSelected(f[fUnit]) {
			return
		}
		t.emit(t.record(now, prio), f[fMessage])
		return
	}
	// stdout and stderr pieces interleave: conmon reads the two pipes apart.
	key := lineID{t.str(id), prio}
	p := t.pending[key]
	partial := string(f[fPartial]) == "true"
	if p == nil && !partial {
		rec := t.record(now, prio)
		if !t.wanted(&rec) {
			return
		}
		t.emit(rec, f[fMessage])
		return
	}
	if p == nil {
		rec := t.record(now, prio)
		if !t.wanted(&rec) {
			return
		}
		p = &partialLine{rec: rec, resume: prevCursor, order: t.order}
		t.pending[key] = p
	}
	p.add(f[fMessage], t.cfg.MaxLineBytes)
	p.rec.Cursor = e.cursor
	p.rec.Observed = now
	p.lastUsec = e.realtime
	if !partial {
		t.flush(key, p)
	}
}

func (t *tail) unitSelected(unit []byte) bool {
	for _, u := range t.cfg.Units {
		if u == string(unit) {
			return true
		}
	}
	return false
}

// wanted applies the container and unit filters, remembering name decisions
// since regular expressions are the costliest thing per entry.
func (t *tail) wanted(rec *Record) bool {
	if t.cfg.IncludeContainer != nil || t.cfg.ExcludeContainer != nil {
		ok, seen := t.nameOK[rec.ContainerName]
		if !seen {
			ok = (t.cfg.IncludeContainer == nil || t.cfg.IncludeContainer.MatchString(rec.ContainerName)) &&
				(t.cfg.ExcludeContainer == nil || !t.cfg.ExcludeContainer.MatchString(rec.ContainerName))
			if t.nameOK == nil || len(t.nameOK) > 4096 {
				t.nameOK = map[string]bool{}
			}
			t.nameOK[rec.ContainerName] = ok
		}
		if !ok {
			return false
		}
	}
	if t.cfg.IncludeUnit != nil || t.cfg.ExcludeUnit != nil {
		unit := rec.Unit
		if unit == "" {
			unit = rec.QuadletUnit
		}
		if t.cfg.IncludeUnit != nil && !t.cfg.IncludeUnit.MatchString(unit) {
			return false
		}
		if t.cfg.ExcludeUnit != nil && t.cfg.ExcludeUnit.MatchString(unit) {
			return false
		}
	}
	return true
}

// record builds a record from the current entry, without its body.
func (t *tail) record(now time.Time, prio int) Record {
	e := &t.e
	f := e.fields
	rec := Record{
		Observed:        now,
		Priority:        prio,
		Severity:        SeverityFromPriority(prio),
		ContainerIDFull: t.str(f[fContainerIDFull]),
		ContainerID:     t.str(f[fContainerID]),
		ContainerName:   t.str(f[fContainerName]),
		ContainerTag:    t.str(f[fContainerTag]),
		Unit:            t.str(f[fUnit]),
		Identifier:      t.str(f[fIdentifier]),
		Hostname:        t.str(f[fHostname]),
		BootID:          t.str(f[fBootID]),
		Cursor:          e.cursor,
		Pieces:          1,
	}
	usec := int64(e.realtime)
	if v, err := strconv.ParseInt(string(f[fSourceTime]), 10, 64); err == nil && v > 0 {
		usec = v
	}
	rec.Time = time.UnixMicro(usec)
	if rec.ContainerID == "" && len(rec.ContainerIDFull) >= 12 {
		rec.ContainerID = rec.ContainerIDFull[:12]
	}
	if rec.ContainerID != "" {
		switch prio {
		case 6:
			rec.Stream = "stdout"
		case 3:
			rec.Stream = "stderr"
		}
	}
	for i, name := range t.cfg.ExtraFields {
		if v := f[nFixed+i]; v != nil {
			if rec.Extra == nil {
				rec.Extra = map[string]string{}
			}
			rec.Extra[name] = string(v)
		}
	}
	if t.cfg.Enricher != nil && rec.ContainerID != "" {
		id := rec.ContainerIDFull
		if id == "" {
			id = rec.ContainerID
		}
		if info, ok := t.cfg.Enricher.Container(id); ok {
			rec.Image, rec.PodID, rec.PodName, rec.QuadletUnit = info.Image, info.PodID, info.PodName, info.QuadletUnit
			for _, l := range t.cfg.Labels {
				if v, ok := info.Labels[l]; ok {
					if rec.Labels == nil {
						rec.Labels = map[string]string{}
					}
					rec.Labels[l] = v
				}
			}
		}
	}
	return rec
}

// emit adds a one-entry line.
func (t *tail) emit(rec Record, msg []byte) {
	if len(msg) > 0 && msg[len(msg)-1] == '\n' {
		msg = msg[:len(msg)-1]
	}
	if len(msg) > t.cfg.MaxLineBytes {
		msg = msg[:t.cfg.MaxLineBytes]
		rec.Truncated = true
		t.r.partialCut.Add(1)
	}
	rec.Body = string(msg)
	t.add(rec)
}

func (t *tail) add(rec Record) {
	if len(t.batch) == 0 {
		t.batchStart = rec.Observed
	}
	t.batch = append(t.batch, rec)
}

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
		t.r.partialCut.Add(1)
	}
	t.add(rec)
}

// flushPartialsLive emits, once the reader has caught up, lines whose next piece is
// overdue by the wall clock or whose container has exited: everything the journal
// holds has been read, so what is missing was never written.
func (t *tail) flushPartialsLive(now time.Time) {
	for key, p := range t.pending {
		if now.Sub(p.rec.Observed) >= t.cfg.PartialTimeout || t.exited(key.container) {
			t.flush(key, p)
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
	rec    Record
	buf    []byte
	pieces int
	cut    bool
	// resume is the cursor of the entry read before the first piece, order the
	// first piece's place in the read sequence.
	resume string
	order  uint64
	// lastUsec is the journal's receive time of the latest piece.
	lastUsec uint64
}

// add appends a piece, cutting at limit; pieces past the cut are still counted so
// that the line ends at its real last piece, not in the middle.
func (p *partialLine) add(piece []byte, limit int) {
	p.pieces++
	if p.cut {
		return
	}
	if room := limit - len(p.buf); len(piece) > room {
		piece = piece[:room]
		p.cut = true
	}
	p.buf = append(p.buf, piece...)
}

// Package journald reads container logs from the systemd journal. It produces plain
// values (logrecord's records, journalstat's counters); it knows nothing of
// Prometheus or OTLP.
package journald

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podexporter/podexporter/internal/freelist"
	"github.com/podexporter/podexporter/journald/journalstat"
	"github.com/podexporter/podexporter/journald/logparse"
	"github.com/podexporter/podexporter/logrecord"
)

// Reader tails the journal and hands records to a sink, saving the cursor only
// after the sink acknowledged them.
type Reader struct {
	cfg Config
	log *slog.Logger
	// fields are the fields read of each entry; hostMatches the host selections'
	// journal match terms and host the same as the per-entry check applies them
	// (hostlogs.go).
	fields      *fieldTable
	hostMatches [][]string
	host        []hostTerm

	entriesRead   atomic.Uint64
	commits       atomic.Uint64
	saveErrors    atomic.Uint64
	gaps          atomic.Uint64
	gapEntries    atomic.Uint64
	partialJoined atomic.Uint64
	linesCut      atomic.Uint64
	readErrors    atomic.Uint64
	// foreignCursors counts saved cursors from another journal; mismatches saved
	// checkpoints that did not fit this one, by reason (position.go).
	foreignCursors atomic.Uint64
	mismatches     [nMismatch]atomic.Uint64
	// unreadable: the journal handle opened no file; unreadableWarned: that was
	// logged (access.go).
	unreadable       atomic.Bool
	unreadableWarned atomic.Bool
	// rematches counts the times the matched container names changed.
	rematches atomic.Uint64
	delivered atomic.Uint64
	// parsed and parseFailures count lines by the format that read them (or
	// failed to); badHints invalid log labels; multiline* the records a rule
	// joined, their lines, and those split at MaxLineBytes.
	parsed           [logparse.Auto + 1]atomic.Uint64
	parseFailures    [logparse.Auto + 1]atomic.Uint64
	badHints         atomic.Uint64
	multilineRecords atomic.Uint64
	multilineLines   atomic.Uint64
	multilineSplits  atomic.Uint64
	newestUsec       atomic.Int64
	caughtUp         atomic.Bool

	mu         sync.Mutex
	lines      streamCounts[lineKey]
	severities streamCounts[severityKey]
	// uncounted counts records left out of the per-container counters because
	// maxStreams streams were counted already; uncountedWarned: that was logged.
	uncounted       atomic.Uint64
	uncountedWarned bool

	// noMatches keeps the name filters per entry, as before they became journal
	// matches (benchmarks compare the two).
	noMatches bool
	// namesEvery, when set, spaces the listings of container names instead of
	// their cost (tests lengthen it to hold a new container back).
	namesEvery time.Duration
	// checkEvery is how many entries the reader reads between looks at the lines it
	// is joining (tests shorten it to cross many looks with a small journal).
	checkEvery int
	// linger is how long the caught-up reader lets new entries gather before reading
	// them (DefaultLinger; tests and benchmarks may set 0).
	linger time.Duration
	// free holds delivered batches' slices, emptied, for the read loop to fill again:
	// a batch of records is some 350 KB, which a live reader sealing a few batches a
	// second would otherwise leave to the collector each time.
	free *freelist.List[[]logrecord.Record]
}

type lineKey struct{ id, name, stream string }

// severityKey names a container's records of one severity range.
type severityKey struct{ id, name, severity string }

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
	if cfg.MultilineTimeout <= 0 {
		cfg.MultilineTimeout = DefaultMultilineTimeout
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = DefaultInFlight
	}
	if len(cfg.ExtraFields) > 1<<15 {
		return nil, errors.New("journal reader: too many extra fields")
	}
	terms := hostTerms(&cfg)
	fields := newFieldTable(&cfg, terms)
	host, err := compileTerms(terms, fields)
	if err != nil {
		return nil, err
	}
	// pe_read numbers the fields in 16 bits.
	if len(fields.names) > 1<<16-1 {
		return nil, errors.New("journal reader: too many fields to read")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	batchCap := min(cfg.BatchSize, 1024)
	return &Reader{cfg: cfg, log: log.With("component", "journal"), fields: fields, hostMatches: terms, host: host,
		lines: streamCounts[lineKey]{m: map[lineKey]*lineCount{}}, severities: streamCounts[severityKey]{m: map[severityKey]*lineCount{}}, checkEvery: 4096, linger: DefaultLinger,
		free: freelist.New(cfg.InFlight+1, func() []logrecord.Record { return make([]logrecord.Record, 0, batchCap) })}, nil
}

// Stats returns the counters; safe to call from any goroutine.
func (r *Reader) Stats() journalstat.Stats {
	s := journalstat.Stats{
		EntriesRead:      r.entriesRead.Load(),
		RecordsDelivered: r.delivered.Load(),
		CursorCommits:    r.commits.Load(),
		CursorSaveErrors: r.saveErrors.Load(),
		Gaps:             r.gaps.Load(),
		GapEntries:       r.gapEntries.Load(),
		ForeignCursors:   r.foreignCursors.Load(),
		PartialJoined:    r.partialJoined.Load(),
		NameRematches:    r.rematches.Load(),
		LinesCut:         r.linesCut.Load(),
		ReadErrors:       r.readErrors.Load(),
	}
	for i := range r.mismatches {
		s.CheckpointMismatches = append(s.CheckpointMismatches, journalstat.MismatchStats{Reason: mismatchReasons[i], Count: r.mismatches[i].Load()})
	}
	s.JournalUnreadable = r.unreadable.Load()
	if rc, ok := r.cfg.Sink.(logrecord.RetryCounter); ok {
		s.SinkRetries = rc.Retries()
	}
	if n := r.newestUsec.Load(); n > 0 && !r.caughtUp.Load() {
		s.Lag = max(0, time.Since(time.UnixMicro(n)))
	}
	for _, f := range []logparse.Format{logparse.JSON, logparse.Logfmt, logparse.Text} {
		s.Formats = append(s.Formats, journalstat.FormatStats{Format: f.String(), Parsed: r.parsed[f].Load(), Failed: r.parseFailures[f].Load()})
	}
	s.InvalidHints = r.badHints.Load()
	s.MultilineRecords = r.multilineRecords.Load()
	s.MultilineLines = r.multilineLines.Load()
	s.MultilineSplits = r.multilineSplits.Load()
	s.UncountedRecords = r.uncounted.Load()
	r.mu.Lock()
	for k, c := range r.lines.m {
		s.Containers = append(s.Containers, journalstat.ContainerLogStats{ID: k.id, Name: k.name, Stream: k.stream, Lines: c.lines, Bytes: c.bytes})
	}
	for k, c := range r.severities.m {
		s.Severities = append(s.Severities, journalstat.ContainerSeverityStats{ID: k.id, Name: k.name, Severity: k.severity, Records: c.lines})
	}
	r.mu.Unlock()
	return s
}

// batch is a sealed group of records and the cursor that is safe to save once the
// sink has them: no entry at or before it is still waiting in the reader.
type batch struct {
	records []logrecord.Record
	cursor  string
}

// newTail is the read loop's state, empty.
func (r *Reader) newTail() *tail {
	return &tail{r: r, cfg: &r.cfg, pending: map[lineID]*partialLine{}, interned: map[string]string{},
		groups: map[lineID]*group{}, rules: map[string]labelRule{}, hintWarned: map[string]bool{}, parseWarned: map[string]bool{}}
}

// Run reads until ctx ends. It calls started once the journal is open and
// positioned. Records not yet acknowledged when ctx ends are read again on the
// next start, since their cursor was never saved.
func (r *Reader) Run(ctx context.Context, started func()) error {
	t := r.newTail()
	if err := t.open(); err != nil {
		return err
	}
	defer func() { t.j.close(); t.del.close(); t.names.close() }()
	advance, err := t.position()
	if err != nil {
		return err
	}
	text := t.lastCursor
	if c, _, _ := strings.Cut(t.sealed, "\n"); t.sealed != "" && c == t.lastCursor {
		text = t.sealed // resumed: keep what the checkpoint says to skip
	}
	t.nm.started(t.lastCursor, text)
	if started != nil {
		started()
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batch, r.cfg.InFlight)
	var deliverErr error
	var wg sync.WaitGroup
	delivering := make(chan struct{})
	wg.Go(func() {
		defer close(delivering)
		deliverErr = r.deliver(ctx, batches)
		if deliverErr != nil {
			cancel()
		}
	})
	err = t.loop(ctx, batches, advance)
	if c := t.finalCursor(); err == nil && c != "" {
		// Saved only after the batches before it, when the sink took them.
		select {
		case batches <- batch{cursor: c}:
		case <-delivering:
		}
	}
	close(batches)
	wg.Wait()
	if deliverErr != nil {
		return deliverErr
	}
	return err
}

// deliver hands batches to the sink, one at a time or, for a PipelinedSink, several
// at once, and saves each batch's cursor once it and all before it were accepted.
func (r *Reader) deliver(ctx context.Context, batches <-chan batch) error {
	depth := 1
	if p, ok := r.cfg.Sink.(logrecord.PipelinedSink); ok {
		depth = max(1, p.Pipeline())
	}
	if depth == 1 {
		return r.deliverInOrder(ctx, batches)
	}
	return r.deliverPipelined(ctx, batches, depth)
}

// deliverInOrder delivers one batch at a time: a crash can repeat at most the batch
// that was being delivered.
func (r *Reader) deliverInOrder(ctx context.Context, batches <-chan batch) error {
	a := acker{r: r}
	for b := range batches {
		var err error
		if len(b.records) > 0 {
			err = r.cfg.Sink.Deliver(ctx, b.records)
		}
		if err := a.ack(ctx, b, err); err != nil || a.stopped {
			return err
		}
	}
	return nil
}

// acker saves the cursors of delivered batches, in the order they were read.
type acker struct {
	r           *Reader
	saved       string
	saveFailing bool
	// stopped is set when a delivery ended with ctx: nothing after it is saved.
	stopped bool
}

// ack takes the outcome of delivering b: it counts the records and saves the cursor,
// or stops the reader when the sink gave up.
func (a *acker) ack(ctx context.Context, b batch, deliverErr error) error {
	r := a.r
	if deliverErr != nil {
		a.stopped = true
		if ctx.Err() != nil {
			return nil
		}
		// A sink retries until it has the records; one that gives up cannot be
		// waited out: stop, with nothing of the batch saved.
		return fmt.Errorf("log sink gave up on a batch of %d records: %w", len(b.records), deliverErr)
	}
	if len(b.records) > 0 {
		r.delivered.Add(uint64(len(b.records)))
		r.account(b.records)
		r.recycle(b.records)
	}
	if b.cursor == "" || b.cursor == a.saved || r.cfg.Checkpoint == nil {
		return nil
	}
	// Saved even when ctx has ended: the sink has these records. A failed save
	// (state directory full or read-only) stops nothing: the records are
	// delivered, and only a restart before the next save sends them again.
	if err := r.cfg.Checkpoint.Save(b.cursor); err != nil {
		r.saveErrors.Add(1)
		if !a.saveFailing {
			a.saveFailing = true
			r.log.Warn("cannot save the journal cursor; delivery goes on, and a restart before it is saved again sends again what was delivered since", "err", err)
		}
		return nil
	}
	if a.saveFailing {
		a.saveFailing = false
		r.log.Info("journal cursor saved again", "file", r.cfg.Checkpoint.Path())
	}
	a.saved = b.cursor
	r.commits.Add(1)
	return nil
}

// recycle hands a delivered batch's slice back to the read loop, emptied so that it
// holds on to none of the records' strings.
func (r *Reader) recycle(recs []logrecord.Record) {
	clear(recs)
	r.free.Put(recs[:0])
}

// lineIdle is how long a container stream's counters stay after its last line, so
// that removed containers do not grow the series forever.
const lineIdle = time.Hour

// maxStreams caps the container streams (and severity ranges) counted at once. The
// journal's container fields are whatever the writer says, and any local user can
// write entries with a new container id each: without a cap, each would add series
// and memory for an hour.
const maxStreams = 10000

func (r *Reader) account(recs []logrecord.Record) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range recs {
		rec := &recs[i]
		if rec.ContainerID == "" {
			continue
		}
		c := r.lines.count(lineKey{rec.ContainerID, rec.ContainerName, rec.Stream}, now)
		sev := r.severities.count(severityKey{rec.ContainerID, rec.ContainerName, rec.Severity.Range()}, now)
		if c == nil || sev == nil {
			r.uncounted.Add(1)
			if !r.uncountedWarned {
				r.uncountedWarned = true
				r.log.Warn("more container streams logged within an hour than are counted per container; their records are delivered but left out of podman_container_log_* (forged container fields, or extreme churn)",
					"streams", maxStreams, "metric", "podexporter_journal_records_uncounted_total")
			}
			continue
		}
		c.lines += uint64(max(rec.Lines, 1))
		c.bytes += uint64(max(rec.Size, len(rec.Body)))
		sev.lines++
	}
}

// streamCounts are per-stream counters that forget streams idle for lineIdle, so
// that removed containers do not grow the series forever, and hold at most
// maxStreams.
type streamCounts[K comparable] struct {
	m     map[K]*lineCount
	swept time.Time
}

// count returns k's counter, seen now; nil when maxStreams counters are still in
// use. Idle ones are swept out at a new stream, at most once a minute, so that a
// flood of new streams does not turn every record into a walk of the map.
func (sc *streamCounts[K]) count(k K, now time.Time) *lineCount {
	c := sc.m[k]
	if c == nil {
		if now.Sub(sc.swept) > time.Minute {
			sc.swept = now
			for k, c := range sc.m {
				if now.Sub(c.seen) > lineIdle {
					delete(sc.m, k)
				}
			}
		}
		if len(sc.m) >= maxStreams {
			return nil
		}
		c = &lineCount{}
		sc.m[k] = c
	}
	c.seen = now
	return c
}

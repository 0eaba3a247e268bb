package journalstat

import "time"

// Stats is a snapshot of the journal reader's counters (journald.Reader.Stats).
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
	// knows: reading then started per the reader's Start, not at the oldest entry.
	ForeignCursors uint64
	// CheckpointMismatches counts, for every reason (the Mismatch constants), saved
	// checkpoints that did not fit the journal, so that reading resumed another way.
	CheckpointMismatches []MismatchStats
	// JournalUnreadable says the reader could open no journal file at its last
	// (re)open or change of files: it reads nothing.
	JournalUnreadable bool
	PartialJoined     uint64
	// NameRematches counts the times the container names matched in the journal
	// changed: a new container passed the name filters (its entries are then read
	// again from the last verified position) or name matching stopped.
	NameRematches uint64
	// LinesCut counts lines cut at the reader's MaxLineBytes, whether joined or one
	// entry.
	LinesCut   uint64
	ReadErrors uint64
	// SinkRetries counts batches the sink sent again (logrecord.RetryCounter), 0 for a sink
	// that does not count them.
	SinkRetries uint64
	// Lag is now minus the newest entry's time while the reader is behind; 0 once
	// it has caught up.
	Lag        time.Duration
	Containers []ContainerLogStats
	// Severities counts each container's delivered records by severity range.
	Severities []ContainerSeverityStats

	// Formats counts, per log format, the lines it read and those it could not
	// (sent as they came).
	Formats []FormatStats
	// InvalidHints counts records whose container's log labels could not be used.
	InvalidHints uint64
	// MultilineRecords counts records a multiline rule joined from more than one
	// line, MultilineLines those lines, and MultilineSplits the records sent
	// before their end because the next line would pass MaxLineBytes.
	MultilineRecords uint64
	MultilineLines   uint64
	MultilineSplits  uint64
	// UncountedRecords counts delivered records left out of Containers and
	// Severities because too many container streams were counted already.
	UncountedRecords uint64
}

// MismatchStats counts the saved checkpoints that did not fit the journal for one
// reason.
type MismatchStats struct {
	Reason string
	Count  uint64
}

// ContainerSeverityStats counts the delivered records of one container with a
// severity in one range (logrecord.Severity.Range).
type ContainerSeverityStats struct {
	ID       string
	Name     string
	Severity string
	Records  uint64
}

// FormatStats counts the lines one log format read and failed to read.
type FormatStats struct {
	Format string
	Parsed uint64
	Failed uint64
}

// ContainerLogStats counts the delivered lines of one container stream.
type ContainerLogStats struct {
	ID     string
	Name   string
	Stream string
	Lines  uint64
	Bytes  uint64
}

// Why a saved checkpoint did not fit the journal (Stats.CheckpointMismatches).
const (
	// MismatchCursorBeyondTail: the cursor's sequence number is past the end of its
	// journal (restored from an older copy); reading resumed by time.
	MismatchCursorBeyondTail = "cursor_beyond_tail"
	// MismatchCursorNotSelected: the cursor's entry is there, but the current
	// filters do not select it; reading resumed at the next entry they select.
	MismatchCursorNotSelected = "cursor_not_selected"
	// MismatchReadBeyondTail and MismatchReadOtherSequence: the checkpoint's read
	// line (journald/resume.go) named an entry past the journal's end or of another
	// sequence than the cursor, and was dropped.
	MismatchReadBeyondTail    = "read_beyond_tail"
	MismatchReadOtherSequence = "read_other_sequence"
)

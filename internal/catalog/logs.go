package catalog

// Container log metrics, counted by the journal reader as the sink acknowledges
// lines, and the reader's own health.
var (
	ContainerLogLines = register(Metric{
		Name:     "podman_container_log_lines_total",
		OTelName: "container.log.lines",
		Unit:     "{line}",
		Kind:     Counter,
		Help:     "Log lines a container wrote to a stream, as delivered to the log sink (split lines joined; each line of a multiline record counted).",
		Labels:   []string{"id", "name", "stream"},
		Group:    "logs",
		// Counted per container stream: on the container's resource in OTLP.
		IDOf: SubjectContainer,
	})
	ContainerLogBytes = register(Metric{
		Name:     "podman_container_log_bytes_total",
		OTelName: "container.log.size",
		Unit:     "By",
		Kind:     Counter,
		Help:     "Bytes of log lines a container wrote to a stream, without line ends, as delivered to the log sink.",
		Labels:   []string{"id", "name", "stream"},
		Group:    "logs",
		// Counted per container stream: on the container's resource in OTLP.
		IDOf: SubjectContainer,
	})
	ContainerLogRecords = register(Metric{
		Name:     "podman_container_log_records_total",
		OTelName: "container.log.records",
		Unit:     "{record}",
		Kind:     Counter,
		Help:     "Log records of a container delivered to the log sink, by severity range (trace, debug, info, warn, error, fatal, unspecified): from the line when its log format gave one, else from its stream (stderr is error). A multiline record counts once.",
		Labels:   []string{"id", "name", "severity"},
		Group:    "logs",
		IDOf:     SubjectContainer,
	})
	JournalEntriesRead = register(Metric{
		Name:  "podexporter_journal_entries_read_total",
		Unit:  "{entry}",
		Kind:  Counter,
		Help:  "Journal entries the log reader read, before filters.",
		Group: "logs",
	})
	JournalRecordsDelivered = register(Metric{
		Name:  "podexporter_journal_records_delivered_total",
		Unit:  "{record}",
		Kind:  Counter,
		Help:  "Log records the sink acknowledged.",
		Group: "logs",
	})
	JournalLag = register(Metric{
		Name:  "podexporter_journal_lag_seconds",
		Unit:  "s",
		Kind:  Gauge,
		Help:  "Now minus the time of the newest entry read while the reader is behind; 0 once it has caught up.",
		Group: "logs",
	})
	JournalCursorCommits = register(Metric{
		Name:  "podexporter_journal_cursor_commits_total",
		Unit:  "{commit}",
		Kind:  Counter,
		Help:  "Times the journal cursor was saved after the sink acknowledged a batch.",
		Group: "logs",
	})
	JournalCursorErrors = register(Metric{
		Name:  "podexporter_journal_cursor_save_errors_total",
		Unit:  "{error}",
		Kind:  Counter,
		Help:  "Times the journal cursor could not be saved (state directory full or read-only); delivery goes on, and a restart meanwhile sends again what was delivered since the last save.",
		Group: "logs",
	})
	JournalGaps = register(Metric{
		Name:  "podexporter_journal_gaps_total",
		Unit:  "{gap}",
		Kind:  Counter,
		Help:  "Times journal entries vanished before they were read (vacuum or rotation while behind, unusable saved cursor).",
		Group: "logs",
	})
	JournalGapEntries = register(Metric{
		Name:  "podexporter_journal_gap_entries_total",
		Unit:  "{entry}",
		Kind:  Counter,
		Help:  "Journal sequence numbers skipped by gaps; an upper bound on lost lines, as it counts entries of every kind.",
		Group: "logs",
	})
	JournalForeignCursors = register(Metric{
		Name:  "podexporter_journal_cursor_foreign_total",
		Unit:  "{cursor}",
		Kind:  Counter,
		Help:  "Times the saved cursor belonged to no journal file here (another machine's journal, a restored backup, a changed machine-id), so reading started per --journal.start.",
		Group: "logs",
	})
	JournalNameRematches = register(Metric{
		Name:  "podexporter_journal_name_rematches_total",
		Unit:  "{change}",
		Kind:  Counter,
		Help:  "Times the container names read through journal matches changed: a new container passed --journal.include-container (its entries are then read from the last verified position) or name matching fell back to per-entry filtering.",
		Group: "logs",
	})
	JournalPartialJoined = register(Metric{
		Name:  "podexporter_journal_partial_lines_joined_total",
		Unit:  "{line}",
		Kind:  Counter,
		Help:  "Lines joined from pieces conmon split (CONTAINER_PARTIAL_MESSAGE).",
		Group: "logs",
	})
	JournalLinesCut = register(Metric{
		Name:  "podexporter_journal_lines_cut_total",
		Unit:  "{line}",
		Kind:  Counter,
		Help:  "Lines cut at --journal.max-line-bytes.",
		Group: "logs",
	})
	JournalReadErrors = register(Metric{
		Name:  "podexporter_journal_read_errors_total",
		Unit:  "{error}",
		Kind:  Counter,
		Help:  "Journal reads that failed and were recovered from (EBADMSG after vacuum, rotation, journald restarts).",
		Group: "logs",
	})
	JournalSinkRetries = register(Metric{
		Name:  "podexporter_journal_sink_retries_total",
		Unit:  "{retry}",
		Kind:  Counter,
		Help:  "Times the log sink sent a batch again after a failed export or write; reading pauses meanwhile (the sink owns retries).",
		Group: "logs",
	})
	JournalLinesParsed = register(Metric{
		Name:   "podexporter_journal_lines_parsed_total",
		Unit:   "{line}",
		Kind:   Counter,
		Help:   "Lines a log format read (json, logfmt, or text for a leading level word), per the container's io.podexporter.log.format label or --journal.log-format.",
		Labels: []string{"format"},
		Group:  "logs",
	})
	JournalParseFailures = register(Metric{
		Name:   "podexporter_journal_parse_failures_total",
		Unit:   "{line}",
		Kind:   Counter,
		Help:   "Lines that did not parse in their container's log format (json or logfmt); they are sent as they came.",
		Labels: []string{"format"},
		Group:  "logs",
	})
	JournalInvalidHints = register(Metric{
		Name:  "podexporter_journal_invalid_log_labels_total",
		Unit:  "{record}",
		Kind:  Counter,
		Help:  "Records whose container's io.podexporter.log.format or io.podexporter.log.multiline label could not be used; the flags applied instead.",
		Group: "logs",
	})
	JournalMultilineRecords = register(Metric{
		Name:  "podexporter_journal_multiline_records_total",
		Unit:  "{record}",
		Kind:  Counter,
		Help:  "Records a multiline rule joined from more than one line.",
		Group: "logs",
	})
	JournalMultilineLines = register(Metric{
		Name:  "podexporter_journal_multiline_lines_total",
		Unit:  "{line}",
		Kind:  Counter,
		Help:  "Lines joined into multiline records.",
		Group: "logs",
	})
	JournalMultilineSplits = register(Metric{
		Name:  "podexporter_journal_multiline_splits_total",
		Unit:  "{record}",
		Kind:  Counter,
		Help:  "Multiline records sent before their end because the next line would pass --journal.max-line-bytes; that line began the next record.",
		Group: "logs",
	})
	JournalRecordsUncounted = register(Metric{
		Name:  "podexporter_journal_records_uncounted_total",
		Unit:  "{record}",
		Kind:  Counter,
		Help:  "Delivered records left out of podman_container_log_* because 10000 container streams were counted within the last hour (forged container fields or extreme churn); the records themselves are delivered.",
		Group: "logs",
	})
)

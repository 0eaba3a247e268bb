package catalog

// Journal metrics: about the journal podexporter reads, not about the log lines.
var (
	JournalDiskUsage = register(Metric{
		Name:     "podexporter_journal_disk_usage_bytes",
		OTelName: "podexporter.journal.disk.usage",
		Unit:     "By",
		Kind:     Gauge,
		Help:     "Disk space the journal files in a directory take up, as journalctl --disk-usage counts it.",
		Labels:   []string{"directory"},
		Group:    "journal",
	})
	JournalFiles = register(Metric{
		Name:     "podexporter_journal_files",
		OTelName: "podexporter.journal.files",
		Unit:     "{file}",
		Kind:     Gauge,
		Help:     "Journal files in a directory; a steady climb with flat disk usage means vacuuming is at work.",
		Labels:   []string{"directory"},
		Group:    "journal",
	})
)

// The journal reader's view of the journal, emitted by the logs collector with the
// reader's other counters.
var (
	JournalCheckpointMismatches = register(Metric{
		Name: "podexporter_journal_checkpoint_mismatches_total",
		Unit: "{checkpoint}",
		Kind: Counter,
		Help: "Times the saved checkpoint did not fit the journal and reading resumed another way, by reason: " +
			"cursor_beyond_tail (the journal ends before the cursor, as after a restore from an older copy; resumed at the first entry written after the cursor's time), " +
			"cursor_not_selected (the cursor's entry is there but the current filters do not select it; resumed at the next entry they select, nothing lost), " +
			"read_beyond_tail and read_other_sequence (the checkpoint's read line named an entry past the journal's end or of another sequence; ignored, so lines joined across the cursor may come again in part).",
		Labels: []string{"reason"},
		Group:  "logs",
	})
	JournalUnreadable = register(Metric{
		Name:  "podexporter_journal_unreadable",
		Unit:  "1",
		Kind:  Gauge,
		Help:  "1 when the journal reader can open no journal file (its user is not in group systemd-journal, or the journal is not mounted into its container), so it reads no log line; else 0.",
		Group: "logs",
	})
)

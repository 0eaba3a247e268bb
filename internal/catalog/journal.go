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

package collectors

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/journald/journalstat"
	"github.com/podexporter/podexporter/podman"
)

// LogStats is what the logs collector reads: the journal reader's counters.
type LogStats interface {
	Stats() journalstat.Stats
}

func init() {
	register("logs", "Container log lines and bytes, and the journal reader's health (when --journal.sink is set).", true, newLogsCollector)
}

type logsCollector struct {
	src LogStats
	// pods is the Podman source, nil without it: a container its selection leaves
	// out of the metrics loses its log counters with its other series.
	pods Snapshots
}

func newLogsCollector(d Deps) (Collector, error) {
	return &logsCollector{src: d.Logs, pods: d.Podman}, nil
}

// excluded says the Podman source's container selection leaves container id out
// of the metrics.
func excluded(snaps []*podman.Snapshot, id string) bool {
	for _, s := range snaps {
		if k, ok := s.Find(id); ok {
			return k.Excluded
		}
	}
	return false
}

var logCounters = []struct {
	m   *catalog.Metric
	get func(*journalstat.Stats) uint64
}{
	{catalog.JournalEntriesRead, func(s *journalstat.Stats) uint64 { return s.EntriesRead }},
	{catalog.JournalRecordsDelivered, func(s *journalstat.Stats) uint64 { return s.RecordsDelivered }},
	{catalog.JournalCursorCommits, func(s *journalstat.Stats) uint64 { return s.CursorCommits }},
	{catalog.JournalCursorErrors, func(s *journalstat.Stats) uint64 { return s.CursorSaveErrors }},
	{catalog.JournalGaps, func(s *journalstat.Stats) uint64 { return s.Gaps }},
	{catalog.JournalGapEntries, func(s *journalstat.Stats) uint64 { return s.GapEntries }},
	{catalog.JournalForeignCursors, func(s *journalstat.Stats) uint64 { return s.ForeignCursors }},
	{catalog.JournalNameRematches, func(s *journalstat.Stats) uint64 { return s.NameRematches }},
	{catalog.JournalPartialJoined, func(s *journalstat.Stats) uint64 { return s.PartialJoined }},
	{catalog.JournalLinesCut, func(s *journalstat.Stats) uint64 { return s.LinesCut }},
	{catalog.JournalReadErrors, func(s *journalstat.Stats) uint64 { return s.ReadErrors }},
	{catalog.JournalSinkRetries, func(s *journalstat.Stats) uint64 { return s.SinkRetries }},
	{catalog.JournalInvalidHints, func(s *journalstat.Stats) uint64 { return s.InvalidHints }},
	{catalog.JournalMultilineRecords, func(s *journalstat.Stats) uint64 { return s.MultilineRecords }},
	{catalog.JournalMultilineLines, func(s *journalstat.Stats) uint64 { return s.MultilineLines }},
	{catalog.JournalMultilineSplits, func(s *journalstat.Stats) uint64 { return s.MultilineSplits }},
	{catalog.JournalRecordsUncounted, func(s *journalstat.Stats) uint64 { return s.UncountedRecords }},
}

var (
	logCounterDescs = func() []*prometheus.Desc {
		d := make([]*prometheus.Desc, len(logCounters))
		for i, c := range logCounters {
			d[i] = desc(c.m)
		}
		return d
	}()
	logLagDesc        = desc(catalog.JournalLag)
	logMismatchDesc   = desc(catalog.JournalCheckpointMismatches)
	logUnreadableDesc = desc(catalog.JournalUnreadable)
	logLinesDesc      = desc(catalog.ContainerLogLines)
	logBytesDesc      = desc(catalog.ContainerLogBytes)
	logSevDesc        = desc(catalog.ContainerLogRecords)
	parsedDesc        = desc(catalog.JournalLinesParsed)
	failedDesc        = desc(catalog.JournalParseFailures)
)

// Update emits nothing when the reader does not run, so that a host without a
// log sink shows no misleading zeros.
func (c *logsCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	if c.src == nil {
		return nil
	}
	s := c.src.Stats()
	for i, lc := range logCounters {
		send(ch, logCounterDescs[i], prometheus.CounterValue, float64(lc.get(&s)))
	}
	send(ch, logLagDesc, prometheus.GaugeValue, s.Lag.Seconds())
	for _, m := range s.CheckpointMismatches {
		send(ch, logMismatchDesc, prometheus.CounterValue, float64(m.Count), m.Reason)
	}
	unreadable := 0.0
	if s.JournalUnreadable {
		unreadable = 1
	}
	send(ch, logUnreadableDesc, prometheus.GaugeValue, unreadable)
	var snaps []*podman.Snapshot
	if c.pods != nil {
		snaps = c.pods.Snapshots()
	}
	for _, cs := range s.Containers {
		if excluded(snaps, cs.ID) {
			continue
		}
		send(ch, logLinesDesc, prometheus.CounterValue, float64(cs.Lines), cs.ID, cs.Name, cs.Stream)
		send(ch, logBytesDesc, prometheus.CounterValue, float64(cs.Bytes), cs.ID, cs.Name, cs.Stream)
	}
	for _, ss := range s.Severities {
		if excluded(snaps, ss.ID) {
			continue
		}
		send(ch, logSevDesc, prometheus.CounterValue, float64(ss.Records), ss.ID, ss.Name, ss.Severity)
	}
	for _, f := range s.Formats {
		send(ch, parsedDesc, prometheus.CounterValue, float64(f.Parsed), f.Format)
		if f.Format != "text" { // text reads what it finds and never fails
			send(ch, failedDesc, prometheus.CounterValue, float64(f.Failed), f.Format)
		}
	}
	return nil
}

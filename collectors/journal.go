package collectors

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/journald/journalstat"
)

func init() {
	register("journal", "Disk usage and file count of the journal directories.", true, newJournalCollector)
}

type journalCollector struct {
	dirs []string
}

func newJournalCollector(d Deps) (Collector, error) {
	dirs := journalstat.DefaultDirectories
	if d.JournalDirectory != "" {
		dirs = []string{d.JournalDirectory}
	}
	return &journalCollector{dirs: dirs}, nil
}

var (
	journalUsageDesc = desc(catalog.JournalDiskUsage)
	journalFilesDesc = desc(catalog.JournalFiles)
)

// Update stats a handful of files; cheap enough to do on the scrape itself.
func (c *journalCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	var errs []error
	found := 0
	for _, dir := range c.dirs {
		u, err := journalstat.DiskUsage(dir)
		if errors.Is(err, journalstat.ErrNoDirectory) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		found++
		send(ch, journalUsageDesc, valueType(catalog.JournalDiskUsage), float64(u.Bytes), dir)
		send(ch, journalFilesDesc, valueType(catalog.JournalFiles), float64(u.Files), dir)
	}
	if found == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("none of %v exists", c.dirs))
	}
	return errors.Join(errs...)
}

package collectors

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type fakeCollector struct{ err error }

func (f fakeCollector) Update(_ context.Context, _ chan<- prometheus.Metric) error { return f.err }

// The framework's own contract: every enabled collector gets a duration and a success
// series, and a failing one says 0 without failing the scrape.
func TestSetReportsEachCollector(t *testing.T) {
	s := &Set{
		collectors: map[string]Collector{"good": fakeCollector{}, "bad": fakeCollector{err: errors.New("boom")}},
		logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	want := `
# HELP podexporter_scrape_collector_success Whether the collector succeeded during the last scrape (1) or failed (0).
# TYPE podexporter_scrape_collector_success gauge
podexporter_scrape_collector_success{collector="bad"} 0
podexporter_scrape_collector_success{collector="good"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "podexporter_scrape_collector_success"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "podexporter_scrape_collector_duration_seconds"); err != nil || n != 2 {
		t.Fatalf("duration series = %d (%v), want 2", n, err)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}

func TestFlagsListRegisteredCollectors(t *testing.T) {
	found := false
	for _, f := range Flags() {
		if f.Name == "journal" && f.Default {
			found = true
		}
	}
	if !found {
		t.Fatalf("Flags() = %+v, want the journal collector enabled by default", Flags())
	}
}

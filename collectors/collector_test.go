package collectors

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/podman"
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

type panicky struct{}

func (panicky) Update(context.Context, chan<- prometheus.Metric) error { panic("a bug") }

// panickyPart panics half-way through a snapshot, as a collector meeting input
// nobody foresaw would.
type panickyPart struct{ fakeCollector }

func (panickyPart) collectSnapshot(s *podman.Snapshot, ch chan<- prometheus.Metric) {
	emitter{ch}.emit(catalog.PodContainers, 1, "pod", s.Service)
	panic("a bug on this snapshot")
}

// A panic in a collector, in its per-scrape Update or in its cached snapshot part,
// fails that collector (success 0, counted once per run or snapshot) and costs only
// its own series: the scrape, the other collectors and the process go on.
func TestSetRecoversCollectorPanics(t *testing.T) {
	src := &swappable{}
	src.p.Store(syntheticSnapshot(2))
	s := &Set{
		collectors: map[string]Collector{"panics-update": panicky{}, "panics-snapshot": panickyPart{}, "container": mustContainer(t, src)},
		logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	s.cache = newSnapshotCache(src, nil, []namedPart{{"container", s.collectors["container"]}, {"panics-snapshot", panickyPart{}}})
	reg := prometheus.NewRegistry() // not pedantic: the collectors' families are unchecked
	reg.MustRegister(s)
	for scrape := 1; scrape <= 2; scrape++ {
		cached, err := s.Encoded(expfmt.NewFormat(expfmt.TypeTextPlain), "", nil)
		if err != nil || !bytes.Contains(cached, []byte(`podman_container_state{id="000000000002"`)) {
			t.Fatalf("scrape %d: the container collector's series are missing beside a panicking part (err %v)", scrape, err)
		}
		want := `
# HELP podexporter_scrape_collector_success Whether the collector succeeded during the last scrape (1) or failed (0).
# TYPE podexporter_scrape_collector_success gauge
podexporter_scrape_collector_success{collector="container"} 1
podexporter_scrape_collector_success{collector="panics-snapshot"} 0
podexporter_scrape_collector_success{collector="panics-update"} 0
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "podexporter_scrape_collector_success"); err != nil {
			t.Fatalf("scrape %d: %v", scrape, err)
		}
	}
	got := map[string]float64{}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == catalog.ScrapeCollectorFailures.Name {
			for _, m := range mf.Metric {
				got[m.Label[0].GetValue()] = m.Counter.GetValue()
			}
		}
	}
	// Update panicked at each of three gathers (two scrapes, one more gather here);
	// the snapshot part once for its one snapshot, then only its success says it.
	if got["panics-update"] != 3 || got["panics-snapshot"] != 4 {
		t.Fatalf("failures counted %v", got)
	}
}

func mustContainer(t *testing.T, src Snapshots) Collector {
	c, err := newContainerCollector(Deps{Podman: src})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

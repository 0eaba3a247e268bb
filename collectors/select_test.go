package collectors

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/podexporter/podexporter/journald/journalstat"
	"github.com/podexporter/podexporter/podman"
)

type staticLogStats journalstat.Stats

func (s staticLogStats) Stats() journalstat.Stats { return journalstat.Stats(s) }

// TestExcludedContainersEmitNothing: a container the source marks Excluded has no
// series in any family, the cached snapshot part, the per-scrape part (uptime,
// health staleness) and its log counters alike, while its neighbours keep theirs;
// each service says how many it leaves out.
func TestExcludedContainersEmitNothing(t *testing.T) {
	s := syntheticSnapshot(3)
	for i := range s.Containers {
		// A scheduled check, so that the per-scrape staleness series is due.
		s.Containers[i].Health = podman.Health{Status: "healthy", Interval: time.Minute, LastCheck: time.Now()}
		s.Containers[i].Security.HealthDefined = true
	}
	s.Containers[1].Excluded = true
	s.ContainersExcluded = 1
	gone, kept := podman.ShortID(s.Containers[1].ID), podman.ShortID(s.Containers[0].ID)
	logs := staticLogStats{Containers: []journalstat.ContainerLogStats{
		{ID: gone, Name: s.Containers[1].Name, Stream: "stdout", Lines: 3},
		{ID: kept, Name: s.Containers[0].Name, Stream: "stdout", Lines: 4},
	}}
	enabled := map[string]bool{"logs": true}
	for _, n := range PodmanCollectorNames {
		enabled[n] = true
	}
	src := &swappable{}
	src.p.Store(s)
	set, err := New(Deps{Enabled: enabled, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Podman: src, Logs: logs})
	if err != nil {
		t.Fatal(err)
	}
	mfs, err := newGatherer(t, set).Gather()
	if err != nil {
		t.Fatal(err)
	}
	families := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "id" && lp.GetValue() == gone {
					t.Errorf("%s has a series of the excluded container", mf.GetName())
				}
				if lp.GetName() == "id" && lp.GetValue() == kept {
					families[mf.GetName()] = true
				}
			}
		}
	}
	for _, f := range []string{"podman_container_info", "podman_container_state", "podman_container_cpu_seconds_total",
		"podman_container_uptime_seconds", "podman_container_health_check_stale", "podman_container_hardening_passed",
		"podman_container_log_lines_total"} {
		if !families[f] {
			t.Errorf("the kept container has no %s", f)
		}
	}
	if got := familySamples(t, newGatherer(t, set), "podexporter_podman_containers_excluded"); len(got) != 1 || got[0].value != 1 || got[0].labels["podman_service"] != "rootful" {
		t.Errorf("podexporter_podman_containers_excluded = %+v, want 1 for rootful", got)
	}
}

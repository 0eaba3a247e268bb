package collectors

import (
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/podexporter/podexporter/podman"
)

// healthStale's rule at its edges: stale only past three intervals plus the timeout,
// measured from the later of the last check and the start, and only where a check is
// due at all.
func TestHealthStale(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	// every 10 s, 2 s timeout: stale after 32 s without a check.
	sched := podman.Health{Status: "healthy", Interval: 10 * time.Second, Timeout: 2 * time.Second}
	with := func(h podman.Health, lastCheck time.Time) podman.Health { h.LastCheck = lastCheck; return h }
	tests := []struct {
		name           string
		state          string
		started        time.Time
		health         podman.Health
		stale, applies bool
	}{
		{"checked just now", "running", ago(time.Hour), with(sched, ago(time.Second)), false, true},
		{"exactly at the limit", "running", ago(time.Hour), with(sched, ago(32*time.Second)), false, true},
		{"just past the limit", "running", ago(time.Hour), with(sched, ago(32*time.Second+time.Millisecond)), true, true},
		{"checks stopped an hour ago", "running", ago(2 * time.Hour), with(sched, ago(time.Hour)), true, true},
		{"no check yet, started recently", "running", ago(20 * time.Second), sched, false, true},
		{"no check since a start long ago", "running", ago(time.Minute), sched, true, true},
		// Podman 4.3 keeps the log over a restart: the start is the later, and counts.
		{"restarted after an old check", "running", ago(5 * time.Second), with(sched, ago(time.Hour)), false, true},
		{"unhealthy but checking", "running", ago(time.Hour), with(podman.Health{Status: "unhealthy", FailingStreak: 9, Interval: time.Second, Timeout: time.Second}, ago(2*time.Second)), false, true},
		{"no start time and no check", "running", time.Time{}, sched, false, false},
		{"not running", "exited", ago(time.Hour), with(sched, ago(time.Hour)), false, false},
		{"paused", "paused", ago(time.Hour), with(sched, ago(time.Hour)), false, false},
		{"on demand only (interval 0)", "running", ago(time.Hour), with(podman.Health{Status: "healthy", Timeout: 30 * time.Second}, ago(time.Hour)), false, false},
		{"no health check", "running", ago(time.Hour), podman.Health{}, false, false},
		{"interval of centuries", "running", ago(time.Hour), with(podman.Health{Interval: 1<<63 - 1, Timeout: 1<<63 - 1}, ago(time.Hour)), false, true},
		{"check in the future (clock step)", "running", ago(time.Hour), with(sched, now.Add(time.Hour)), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := &podman.Container{State: tc.state, Started: tc.started, Health: tc.health}
			stale, applies := healthStale(now, k)
			if stale != tc.stale || applies != tc.applies {
				t.Fatalf("healthStale = (stale %v, applies %v), want (%v, %v)", stale, applies, tc.stale, tc.applies)
			}
		})
	}
}

// The container collector's health families on one snapshot: the configuration in
// the cached part, staleness per scrape, and nothing of either for a container
// without a check.
func TestHealthSeries(t *testing.T) {
	now := time.Now()
	snap := syntheticSnapshot(4)
	last := now.Add(-time.Minute).Truncate(time.Millisecond)
	snap.Containers[0].Health = podman.Health{Status: "healthy", LastCheck: last, Interval: 2 * time.Second, Timeout: time.Second}
	snap.Containers[0].Security.HealthDefined = true
	snap.Containers[1].Health = podman.Health{Status: "healthy", LastCheck: now, Interval: 30 * time.Second, Timeout: 30 * time.Second}
	snap.Containers[1].Security.HealthDefined = true
	snap.Containers[2].Health = podman.Health{Status: "starting", Timeout: 30 * time.Second} // interval disabled
	snap.Containers[2].Security.HealthDefined = true
	snap.Containers[3].Health = podman.Health{} // no check
	values := containerValues(t, snap)
	absent := math.NaN()
	for _, tc := range []struct {
		family string
		i      int
		want   float64
	}{
		{"podman_container_health_interval_seconds", 0, 2},
		{"podman_container_health_timeout_seconds", 0, 1},
		{"podman_container_health_last_check_timestamp_seconds", 0, unixSeconds(last)},
		{"podman_container_health_check_stale", 0, 1},
		{"podman_container_health_check_stale", 1, 0},
		{"podman_container_health_interval_seconds", 2, absent},
		{"podman_container_health_timeout_seconds", 2, 30},
		{"podman_container_health_last_check_timestamp_seconds", 2, absent},
		{"podman_container_health_check_stale", 2, absent},
		{"podman_container_health_timeout_seconds", 3, absent},
		{"podman_container_health_check_stale", 3, absent},
	} {
		got, ok := values[tc.family][snap.Containers[tc.i].ID[:12]]
		if !ok {
			got = absent
		}
		if got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("container %d: %s = %v, want %v (NaN: absent)", tc.i, tc.family, got, tc.want)
		}
	}
}

// gatherByID scrapes set as /metrics does and returns each family's values by the id
// label.
// containerValues gathers the container collector's series of snap, by family and
// container id.
func containerValues(t *testing.T, snap *podman.Snapshot) map[string]map[string]float64 {
	t.Helper()
	src := &swappable{}
	src.p.Store(snap)
	set, err := New(Deps{Enabled: map[string]bool{"container": true}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Podman: src})
	if err != nil {
		t.Fatal(err)
	}
	return gatherByID(t, set)
}

func gatherByID(t *testing.T, set *Set) map[string]map[string]float64 {
	t.Helper()
	g := newGatherer(t, set)
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "id" {
					if out[mf.GetName()] == nil {
						out[mf.GetName()] = map[string]float64{}
					}
					out[mf.GetName()][lp.GetValue()] = sampleValue(m)
				}
			}
		}
	}
	return out
}

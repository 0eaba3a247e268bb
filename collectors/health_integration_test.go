package collectors

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// healthInspected is the part of `podman inspect` the staleness test reads, decoded
// here from the CLI's JSON rather than by the code under test. Podman 4.3's CLI named
// the state's health "Healthcheck" in some releases, 5 names it "Health": either is
// taken.
type healthInspected struct {
	ID    string `json:"Id"`
	State struct {
		Status      string
		StartedAt   time.Time
		Health      *healthState
		Healthcheck *healthState
	}
	Config struct {
		Healthcheck *struct {
			Interval, Timeout time.Duration // nanoseconds in the JSON
		}
	}
}

type healthState struct {
	Status string
	Log    []struct{ Start, End string }
}

func (in *healthInspected) health() *healthState {
	if in.State.Health != nil {
		return in.State.Health
	}
	return in.State.Healthcheck
}

// lastEnd is the End of the health log's last entry, zero without one.
func (in *healthInspected) lastEnd(t *testing.T) time.Time {
	t.Helper()
	h := in.health()
	if h == nil || len(h.Log) == 0 {
		return time.Time{}
	}
	end, err := time.Parse(time.RFC3339Nano, h.Log[len(h.Log)-1].End)
	if err != nil {
		t.Fatalf("podman inspect: the last health check's End: %v", err)
	}
	return end
}

func inspectHealth(t *testing.T, p *testenv.Podman, name string) healthInspected {
	t.Helper()
	var v []healthInspected
	if err := json.Unmarshal([]byte(p.Output(t, "inspect", "--type", "container", name)), &v); err != nil || len(v) != 1 {
		t.Fatalf("%s inspect %s: %v (%d results)", p.CLI, name, err, len(v))
	}
	return v[0]
}

// TestPodmanHealthStale runs a container whose health check is due every 2 s with a
// 1 s timeout on a host where nothing runs it (no systemd, so no timer: the lost-timer
// case). podman_container_health_check_stale must turn 1 once 3*2+1 s have passed
// since the start, not before; one `podman healthcheck run` brings it back to 0, and
// the last check's timestamp is the health log's last End as `podman inspect` gives
// it. The schedule's series match the configuration inspect shows, and a container
// without a check has none of these series.
func TestPodmanHealthStale(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		// systemd runs the checks from timers here: they would never stop.
		t.Skip("systemd is the init system here: Podman's health check timers run, so the checks cannot be made to stop")
	}
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		h := startPodman(t, nil, p.Socket)
		name := testenv.UniqueName("stale")
		p.Run(t, name, []string{"--health-cmd", "true", "--health-interval", "2s", "--health-timeout", "1s"}, "sleep", "600")
		plain := testenv.UniqueName("nocheck")
		plainID := p.Run(t, plain, nil, "sleep", "600")

		in := inspectHealth(t, p, name)
		id := id12(in.ID)
		hc := in.Config.Healthcheck
		if hc == nil || hc.Interval != 2*time.Second || hc.Timeout != time.Second {
			t.Fatalf("podman inspect says the check is %+v, want interval 2s and timeout 1s", hc)
		}
		limit := 3*hc.Interval + hc.Timeout
		h.waitValue("podman_container_health_interval_seconds", id, hc.Interval.Seconds(), 10*time.Second)
		h.waitValue("podman_container_health_timeout_seconds", id, hc.Timeout.Seconds(), 5*time.Second)

		// Poll until stale, noting when it first says so; the rule is strict (older
		// than the limit), against the StartedAt inspect gives.
		var sawFresh bool
		var staleAt time.Time
		testenv.Eventually(t, limit+15*time.Second, "podman_container_health_check_stale == 1", func() bool {
			switch v := h.value("podman_container_health_check_stale", id); v {
			case 0:
				sawFresh = true
			case 1:
				staleAt = time.Now()
				return true
			}
			return false
		})
		if now := inspectHealth(t, p, name); !now.lastEnd(t).IsZero() {
			t.Fatalf("a health check ran at %s that nobody asked for: something schedules checks on this host, against the premise of this test", now.lastEnd(t).Format(time.RFC3339Nano))
		}
		after := staleAt.Sub(in.State.StartedAt)
		t.Logf("podman %s: stale %.2f s after the start (limit %s)", p.Version, after.Seconds(), limit)
		if after < limit {
			t.Errorf("stale %.2f s after the start, before the limit of %s", after.Seconds(), limit)
		}
		if !sawFresh {
			t.Errorf("never 0 before turning stale: the first scrapes came after the limit of %s, so 0 went unchecked", limit)
		}

		p.Output(t, "healthcheck", "run", name)
		after2 := inspectHealth(t, p, name)
		end := after2.lastEnd(t)
		if end.IsZero() {
			t.Fatalf("podman healthcheck run left no log entry: %+v", after2.health())
		}
		h.waitValue("podman_container_health_check_stale", id, 0, 10*time.Second)
		testenv.Eventually(t, 5*time.Second, fmt.Sprintf("podman_container_health_last_check_timestamp_seconds == %s", end.Format(time.RFC3339Nano)), func() bool {
			got := h.value("podman_container_health_last_check_timestamp_seconds", id)
			// float64 seconds keep about a quarter of a microsecond today.
			return math.Abs(got-float64(end.UnixNano())/1e9) < 1e-6
		})
		// And a check that stops again goes stale again, counted from that check.
		testenv.Eventually(t, limit+15*time.Second, "stale again after the manual check", func() bool {
			return h.value("podman_container_health_check_stale", id) == 1
		})
		if again := time.Since(end); again < limit {
			t.Errorf("stale again %.2f s after the manual check, before the limit of %s", again.Seconds(), limit)
		}

		for _, family := range []string{"podman_container_health_check_stale", "podman_container_health_interval_seconds",
			"podman_container_health_timeout_seconds", "podman_container_health_last_check_timestamp_seconds"} {
			if got := h.samples(family, id12(plainID)); len(got) != 0 {
				t.Errorf("%s has %d series for the container without a health check", family, len(got))
			}
		}
		if got := h.value("podman_container_state", id12(plainID)); got != 2 {
			t.Errorf("the container without a check: podman_container_state = %v; its absence above proves nothing", got)
		}
	})
}

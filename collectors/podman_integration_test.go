package collectors

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/podexporter/podexporter/internal/cgroupfs"
	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/podman"
	"github.com/podexporter/podexporter/podman/podmanconf"
)

// podmanHarness runs the real Podman source against real services and gathers the
// real collectors' output.
type podmanHarness struct {
	t   *testing.T
	src *podman.Source
	reg prometheus.Gatherer
}

// startPodman runs a source on the services with test intervals (stats every second).
func startPodman(t *testing.T, ps *podmanconf.Settings, uris ...string) *podmanHarness {
	t.Helper()
	return startPodmanWith(t, ps, podman.Options{StatsInterval: time.Second, SlowInterval: 10 * time.Second, SizeInterval: time.Minute}, uris...)
}

// startPodmanWith runs a source with the given intervals and the collectors on it.
func startPodmanWith(t *testing.T, ps *podmanconf.Settings, o podman.Options, uris ...string) *podmanHarness {
	t.Helper()
	mounts, err := cgroupfs.ReadMounts("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	o.ProcRoot, o.Cgroups, o.Logger = "/proc", &mounts, logger
	if ps == nil {
		ps = &podmanconf.Settings{LabelValueMaxLength: 128}
	}
	// The label allowlist and cut, as the daemon gives them to the source.
	from := podman.OptionsFrom(*ps)
	o.LabelKeys, o.LabelValueMax = from.LabelKeys, from.LabelValueMax
	src := podman.NewSource(uris, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = src.Run(ctx, func() {}) }()
	t.Cleanup(func() { cancel(); <-done })

	enabled := map[string]bool{}
	for _, n := range PodmanCollectorNames {
		enabled[n] = true
	}
	set, err := New(Deps{Enabled: enabled, NameLabel: ps.NameLabel, ContainerLabels: ps.ContainerLabels, Logger: logger, Podman: src})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(set)
	return &podmanHarness{t: t, src: src, reg: set.Gatherer(reg)}
}

// samples returns every sample of family name whose labels include all of want.
func (h *podmanHarness) samples(name string, want map[string]string) []*dto.Metric {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatalf("gather: %v", err)
	}
	var out []*dto.Metric
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			out = append(out, m)
		}
	}
	return out
}

// value returns the sample of family name whose labels include all of want, or NaN.
func (h *podmanHarness) value(name string, want map[string]string) float64 {
	h.t.Helper()
	if ms := h.samples(name, want); len(ms) > 0 {
		return sampleValue(ms[0])
	}
	return math.NaN()
}

func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	}
	return m.GetUntyped().GetValue()
}

// waitValue polls until the metric has the value wanted.
func (h *podmanHarness) waitValue(name string, labels map[string]string, want float64, timeout time.Duration) {
	h.t.Helper()
	var got float64
	testenv.Eventually(h.t, timeout, fmt.Sprintf("%s%v == %v", name, labels, want), func() bool {
		got = h.value(name, labels)
		return got == want
	})
}

// serviceLabel is the podman_service value the documentation gives a socket: rootful
// for the default rootful socket, the URI for any other.
func serviceLabel(p *testenv.Podman) string {
	if p.Socket == "unix://"+testenv.PodmanSocket {
		return "rootful"
	}
	return p.Socket
}

// inspect is `podman inspect`, the independent view every value is checked against.
type inspected struct {
	ID    string
	State struct {
		Status    string
		ExitCode  int
		OOMKilled bool
		Pid       int
		StartedAt time.Time
		Health    *struct {
			Status        string
			FailingStreak int
			Log           []struct{ ExitCode int }
		}
	}
	RestartCount int
	Pod          string
}

func inspect(t *testing.T, p *testenv.Podman, name string) inspected {
	t.Helper()
	var v []inspected
	if err := json.Unmarshal([]byte(p.Output(t, "inspect", "--type", "container", name)), &v); err != nil || len(v) != 1 {
		t.Fatalf("%s inspect %s: %v (%d results)", p.CLI, name, err, len(v))
	}
	return v[0]
}

// unmarshalOneOrList decodes a JSON object, or a list holding one: `podman pod inspect`
// gives an object in 4.x and a list in 5.x.
func unmarshalOneOrList(t *testing.T, data string, v any) {
	t.Helper()
	if strings.HasPrefix(data, "[") {
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(data), &list); err != nil || len(list) != 1 {
			t.Fatalf("want a list of one: %v (%d): %s", err, len(list), data)
		}
		data = string(list[0])
	}
	if err := json.Unmarshal([]byte(data), v); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
}

func id12(id string) map[string]string { return map[string]string{"id": id[:12]} }

var stateNumbers = map[string]float64{"created": 0, "initialized": 1, "running": 2, "stopped": 3, "paused": 4, "exited": 5}

func TestPodmanContainerStates(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		h := startPodman(t, nil, p.Socket)

		running := testenv.UniqueName("running")
		p.Run(t, running, nil, "sleep", "600")
		paused := testenv.UniqueName("paused")
		p.Run(t, paused, nil, "sleep", "600")
		p.Output(t, "pause", paused)
		exited := testenv.UniqueName("exited")
		p.Run(t, exited, nil, "sh", "-c", "exit 3")
		created := testenv.UniqueName("created")
		p.Output(t, "create", "--name", created, testenv.Image, "true")
		t.Cleanup(func() { p.Remove(created) })
		testenv.Eventually(t, 10*time.Second, "the exited container to exit", func() bool { return inspect(t, p, exited).State.Status == "exited" })

		for _, name := range []string{running, paused, exited, created} {
			in := inspect(t, p, name)
			h.waitValue("podman_container_state", id12(in.ID), stateNumbers[in.State.Status], 10*time.Second)
			h.waitValue("podman_container_exit_code", id12(in.ID), float64(in.State.ExitCode), 5*time.Second)
			if got := h.value("podman_container_info", map[string]string{"id": in.ID[:12], "name": name, "image": testenv.Image, "podman_service": serviceLabel(p)}); got != 1 {
				t.Errorf("%s: podman_container_info with name, image and podman_service = %v, want 1", name, got)
			}
		}
		if in := inspect(t, p, exited); in.State.ExitCode != 3 {
			t.Fatalf("podman says exit code %d, want 3", in.State.ExitCode)
		}

		// Uptime comes from StartedAt: compare with podman's own StartedAt.
		in := inspect(t, p, running)
		uptime := h.value("podman_container_uptime_seconds", id12(in.ID))
		if want := time.Since(in.State.StartedAt).Seconds(); math.Abs(uptime-want) > 2 {
			t.Errorf("uptime %.1f s, podman's StartedAt says %.1f s", uptime, want)
		}

		// Removal reaches the snapshot through the event stream. Podman 4.3 reads its
		// events back from the journal, which on a loaded machine took over 5 s.
		p.Remove(running)
		testenv.Eventually(t, 15*time.Second, "the removed container to leave the metrics", func() bool {
			return math.IsNaN(h.value("podman_container_state", id12(in.ID)))
		})
	})
}

func TestPodmanPod(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		h := startPodman(t, nil, p.Socket)
		pod := testenv.UniqueName("pod")
		p.Output(t, "pod", "create", "--name", pod)
		t.Cleanup(func() { _ = p.Command("pod", "rm", "-f", "-t", "0", pod).Run() })
		for i := range 2 {
			p.Run(t, fmt.Sprintf("%s-c%d", pod, i), []string{"--pod", pod}, "sleep", "600")
		}
		var podInfo struct {
			ID            string `json:"Id"`
			NumContainers int
			State         string
		}
		unmarshalOneOrList(t, p.Output(t, "pod", "inspect", pod), &podInfo)
		pid := map[string]string{"id": podInfo.ID[:12]}
		h.waitValue("podman_pod_containers", pid, float64(podInfo.NumContainers), 10*time.Second)
		h.waitValue("podman_pod_state", pid, podStates[podInfo.State], 5*time.Second)
		if got := h.value("podman_pod_info", map[string]string{"id": podInfo.ID[:12], "name": pod}); got != 1 {
			t.Errorf("podman_pod_info = %v", got)
		}
		member := inspect(t, p, pod+"-c0")
		h.waitValue("podman_container_state", map[string]string{"id": member.ID[:12], "pod_id": podInfo.ID[:12], "pod_name": pod}, 2, 5*time.Second)
	})
}

// healthValues is podman_container_health's documented encoding of Podman's words;
// no status at all (no check has run yet, on some versions) is unknown.
var healthValues = map[string]float64{"": -1, "healthy": 0, "unhealthy": 1, "starting": 2}

// TestPodmanHealthTransitions drives a health check with two retries through failure,
// failure, success. The two services disagree on the first failure: Podman 5 keeps
// the container starting until the retries are used up, 4.3 does not; the metric must
// follow whatever inspect says.
func TestPodmanHealthTransitions(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		h := startPodman(t, nil, p.Socket)
		name := testenv.UniqueName("health")
		p.Run(t, name, []string{"--health-cmd", "test -f /ok", "--health-interval", "1h", "--health-retries", "2"}, "sleep", "600")
		id := id12(inspect(t, p, name).ID)
		seen := map[string]bool{}
		// check runs one health check (when run is set) and compares with inspect;
		// a negative wantStreak takes inspect's.
		check := func(run bool, wantStreak int) {
			t.Helper()
			if run {
				_ = p.Command("healthcheck", "run", name).Run() // exit 1 when unhealthy
			}
			in := inspect(t, p, name)
			st, streak, lastExit := "", 0, math.NaN()
			if hc := in.State.Health; hc != nil {
				st, streak = hc.Status, hc.FailingStreak
				if n := len(hc.Log); n > 0 {
					lastExit = float64(hc.Log[n-1].ExitCode)
				}
			}
			want, ok := healthValues[st]
			if !ok {
				t.Fatalf("podman inspect says health %q, not a status this test knows", st)
			}
			if wantStreak >= 0 && streak != wantStreak {
				t.Fatalf("podman inspect says failing streak %d, want %d", streak, wantStreak)
			}
			seen[st] = true
			t.Logf("podman %s: health %s, failing streak %d, last exit code %v", p.Version, st, streak, lastExit)
			h.waitValue("podman_container_health", id, want, 10*time.Second)
			h.waitValue("podman_container_health_failing_streak", id, float64(streak), 5*time.Second)
			// No check in the log (none yet, or 5 emptied it): no last-check series.
			testenv.Eventually(t, 5*time.Second, fmt.Sprintf("podman_container_health_last_exit_code == %v", lastExit), func() bool {
				got := h.value("podman_container_health_last_exit_code", id)
				return got == lastExit || math.IsNaN(got) && math.IsNaN(lastExit)
			})
		}
		check(false, 0) // before any check
		check(true, 1)
		check(true, 2)
		if !seen["unhealthy"] {
			t.Errorf("two failures with two retries left the container %v, never unhealthy", seen)
		}
		p.Output(t, "exec", name, "busybox", "touch", "/ok")
		check(true, 0)
		if !seen["healthy"] {
			t.Errorf("a passing check did not make the container healthy: %v", seen)
		}
		if !seen["starting"] {
			t.Errorf("the container was never starting (%v): that case went untested", seen)
		}
		// The first check is the baseline; the two after it are counted, one of each.
		h.waitValue("podman_container_health_checks_total", map[string]string{"id": id["id"], "result": "failure"}, 1, 5*time.Second)
		h.waitValue("podman_container_health_checks_total", map[string]string{"id": id["id"], "result": "success"}, 1, 5*time.Second)

		// Started again, the container is starting once more: Podman 5 empties the
		// health log, 4.3 keeps it. A check after that still counts.
		p.Output(t, "restart", "-t", "0", name)
		check(false, -1)
		check(true, 0)
		h.waitValue("podman_container_health_checks_total", map[string]string{"id": id["id"], "result": "success"}, 2, 5*time.Second)
	})
}

func TestPodmanLabelOptions(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		h := startPodman(t, &podmanconf.Settings{
			ContainerLabels:     []string{"app", "com.example/long"},
			LabelValueMaxLength: 16,
			NameLabel:           true,
		}, p.Socket)
		name := testenv.UniqueName("labels")
		long := strings.Repeat("x", 40)
		id := p.Run(t, name, []string{"--label", "app=web", "--label", "com.example/long=" + long, "--label", "secret=hidden"}, "sleep", "600")
		h.waitValue("podman_container_info", map[string]string{"id": id[:12], "app": "web", "com_example_long": long[:16]}, 1, 10*time.Second)
		h.waitValue("podman_container_state", map[string]string{"id": id[:12], "name": name}, 2, 5*time.Second)
		if got := h.value("podexporter_podman_label_values_truncated_total", nil); got < 1 {
			t.Errorf("truncated label values = %v, want at least 1", got)
		}
		mfs, err := h.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, lp := range m.GetLabel() {
					if lp.GetValue() == "hidden" || lp.GetName() == "secret" {
						t.Fatalf("%s carries the label that is not allowlisted", mf.GetName())
					}
				}
			}
		}
	})
}

// TestScrapesCauseNoAPICalls scrapes hundreds of times and counts the Podman API requests
// made meanwhile: polls run on their own clock (set to an hour here), so any requests
// seen come from events of other tests' containers, never from scrapes.
func TestScrapesCauseNoAPICalls(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		h := startPodmanWith(t, nil, podman.Options{StatsInterval: time.Hour, SlowInterval: time.Hour}, p.Socket)
		h.waitValue("podexporter_podman_up", map[string]string{"podman_service": serviceLabel(p)}, 1, 15*time.Second)
		requests := func() float64 {
			total := 0.0
			for _, s := range h.src.Snapshots() {
				for _, n := range s.APIRequests {
					total += float64(n)
				}
			}
			return total
		}
		before := requests()
		const scrapes = 500
		for range scrapes {
			if _, err := h.reg.Gather(); err != nil {
				t.Fatal(err)
			}
		}
		made := requests() - before
		t.Logf("%d scrapes, %v Podman API requests meanwhile", scrapes, made)
		if made > scrapes/20 {
			t.Fatalf("%v API requests during %d scrapes: scrapes must not call Podman", made, scrapes)
		}
	})
}

// TestPodmanBothServicesOneSource points one source at both services, as a host that
// runs two Podman services (rootful and a user's, or two versions) is configured: a
// container started on each shows up once, under its own service and under no other,
// although both services' events reach each other through the shared journal.
func TestPodmanBothServicesOneSource(t *testing.T) {
	ps := testenv.RequirePodmanServices(t)
	var uris []string
	for _, p := range ps {
		uris = append(uris, p.Socket)
	}
	h := startPodman(t, nil, uris...)
	ids := map[*testenv.Podman]string{}
	for _, p := range ps {
		name := testenv.UniqueName("both-" + strings.ReplaceAll(p.Version, ".", ""))
		ids[p] = inspect(t, p, p.Run(t, name, nil, "sleep", "600")).ID
		h.waitValue("podexporter_podman_up", map[string]string{"podman_service": serviceLabel(p)}, 1, 15*time.Second)
	}
	for _, p := range ps {
		h.waitValue("podman_container_state", map[string]string{"id": ids[p][:12], "podman_service": serviceLabel(p)}, 2, 10*time.Second)
	}
	// Let the services' events of each other's containers arrive and be handled, then
	// count: each container exactly once, in every family that has an id label.
	time.Sleep(1500 * time.Millisecond)
	for _, p := range ps {
		for _, family := range []string{"podman_container_info", "podman_container_state", "podman_container_cpu_seconds_total"} {
			got := h.samples(family, id12(ids[p]))
			if len(got) != 1 {
				t.Errorf("%s: %s has %d series for the container started on %s, want 1", p.Name(), family, len(got), p.Socket)
				continue
			}
			for _, lp := range got[0].GetLabel() {
				if lp.GetName() == "podman_service" && lp.GetValue() != serviceLabel(p) {
					t.Errorf("%s: %s of the container started on %s has podman_service %q", p.Name(), family, p.Socket, lp.GetValue())
				}
			}
		}
		// The services' own view agrees: the other service does not know the container.
		for _, other := range ps {
			if other != p && other.Command("container", "exists", ids[p]).Run() == nil {
				t.Errorf("%s says it has the container %s started on %s: the services share storage", other.CLI, ids[p][:12], p.Socket)
			}
		}
	}
	if t.Failed() {
		return
	}
	for _, p := range ps {
		t.Logf("%s: container %s once, podman_service=%q", p.Name(), ids[p][:12], serviceLabel(p))
	}
}

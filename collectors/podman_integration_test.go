package collectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/podexporter/podexporter/collectors/podman"
	"github.com/podexporter/podexporter/internal/cgroupfs"
	"github.com/podexporter/podexporter/internal/config"
	"github.com/podexporter/podexporter/internal/testenv"
)

// podmanHarness runs the real Podman source against real services and gathers the
// real collectors' output.
type podmanHarness struct {
	t   *testing.T
	src *podman.Source
	reg prometheus.Gatherer
}

func startPodman(t *testing.T, cfg *config.Config, uris ...string) *podmanHarness {
	t.Helper()
	mounts, err := cgroupfs.ReadMounts("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	src := podman.NewSource(uris, podman.Options{
		StatsInterval: time.Second,
		SlowInterval:  10 * time.Second,
		SizeInterval:  time.Minute,
		ProcRoot:      "/proc",
		Cgroups:       &mounts,
		Logger:        logger,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = src.Run(ctx, func() {}) }()
	t.Cleanup(func() { cancel(); <-done })

	if cfg == nil {
		cfg = &config.Config{Podman: config.Podman{LabelValueMaxLength: 128}}
	}
	cfg.Collectors = map[string]bool{}
	for _, n := range PodmanCollectorNames {
		cfg.Collectors[n] = true
	}
	set, err := New(Deps{Config: cfg, Logger: logger, Podman: src})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(set)
	return &podmanHarness{t: t, src: src, reg: set.Gatherer(reg)}
}

// value returns the sample of family name whose labels include all of want, or NaN.
func (h *podmanHarness) value(name string, want map[string]string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatalf("gather: %v", err)
	}
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
			return sampleValue(m)
		}
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
		}
	}
	RestartCount int
	Pod          string
}

func inspect(t *testing.T, name string) inspected {
	t.Helper()
	out, err := exec.Command("podman", "inspect", "--type", "container", name).Output()
	if err != nil {
		t.Fatalf("podman inspect %s: %v", name, err)
	}
	var v []inspected
	if err := json.Unmarshal(out, &v); err != nil || len(v) != 1 {
		t.Fatalf("podman inspect %s: %v (%d results)", name, err, len(v))
	}
	return v[0]
}

func podmanCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("podman", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func id12(id string) map[string]string { return map[string]string{"id": id[:12]} }

var stateNumbers = map[string]float64{"created": 0, "initialized": 1, "running": 2, "stopped": 3, "paused": 4, "exited": 5}

func TestPodmanContainerStates(t *testing.T) {
	p := testenv.RequirePodman(t)
	h := startPodman(t, nil, p.Socket)

	running := testenv.UniqueName("running")
	p.Run(t, running, nil, "sleep", "600")
	paused := testenv.UniqueName("paused")
	p.Run(t, paused, nil, "sleep", "600")
	podmanCLI(t, "pause", paused)
	exited := testenv.UniqueName("exited")
	p.Run(t, exited, nil, "sh", "-c", "exit 3")
	created := testenv.UniqueName("created")
	podmanCLI(t, "create", "--name", created, testenv.Image, "true")
	t.Cleanup(func() { p.Remove(created) })
	testenv.Eventually(t, 10*time.Second, "the exited container to exit", func() bool { return inspect(t, exited).State.Status == "exited" })

	for _, name := range []string{running, paused, exited, created} {
		in := inspect(t, name)
		h.waitValue("podman_container_state", id12(in.ID), stateNumbers[in.State.Status], 10*time.Second)
		h.waitValue("podman_container_exit_code", id12(in.ID), float64(in.State.ExitCode), 5*time.Second)
		if got := h.value("podman_container_info", map[string]string{"id": in.ID[:12], "name": name, "image": testenv.Image, "podman_service": "rootful"}); got != 1 {
			t.Errorf("%s: podman_container_info with name, image and podman_service = %v, want 1", name, got)
		}
	}
	if in := inspect(t, exited); in.State.ExitCode != 3 {
		t.Fatalf("podman says exit code %d, want 3", in.State.ExitCode)
	}

	// Uptime comes from StartedAt: compare with podman's own StartedAt.
	in := inspect(t, running)
	uptime := h.value("podman_container_uptime_seconds", id12(in.ID))
	if want := time.Since(in.State.StartedAt).Seconds(); math.Abs(uptime-want) > 2 {
		t.Errorf("uptime %.1f s, podman's StartedAt says %.1f s", uptime, want)
	}

	// Removal reaches the snapshot through the event stream.
	p.Remove(running)
	testenv.Eventually(t, 5*time.Second, "the removed container to leave the metrics", func() bool {
		return math.IsNaN(h.value("podman_container_state", id12(in.ID)))
	})
}

func TestPodmanPod(t *testing.T) {
	p := testenv.RequirePodman(t)
	h := startPodman(t, nil, p.Socket)
	pod := testenv.UniqueName("pod")
	podmanCLI(t, "pod", "create", "--name", pod)
	t.Cleanup(func() { _ = exec.Command("podman", "pod", "rm", "-f", "-t", "0", pod).Run() })
	for i := range 2 {
		p.Run(t, fmt.Sprintf("%s-c%d", pod, i), []string{"--pod", pod}, "sleep", "600")
	}
	var podInfo struct {
		ID            string `json:"Id"`
		NumContainers int
		State         string
	}
	if err := json.Unmarshal([]byte(podmanCLI(t, "pod", "inspect", pod)), &podInfo); err != nil {
		t.Fatal(err)
	}
	pid := map[string]string{"id": podInfo.ID[:12]}
	h.waitValue("podman_pod_containers", pid, float64(podInfo.NumContainers), 10*time.Second)
	h.waitValue("podman_pod_state", pid, podStates[podInfo.State], 5*time.Second)
	if got := h.value("podman_pod_info", map[string]string{"id": podInfo.ID[:12], "name": pod}); got != 1 {
		t.Errorf("podman_pod_info = %v", got)
	}
	member := inspect(t, pod+"-c0")
	h.waitValue("podman_container_state", map[string]string{"id": member.ID[:12], "pod_id": podInfo.ID[:12], "pod_name": pod}, 2, 5*time.Second)
}

func TestPodmanHealthTransitions(t *testing.T) {
	p := testenv.RequirePodman(t)
	h := startPodman(t, nil, p.Socket)
	name := testenv.UniqueName("health")
	p.Run(t, name, []string{"--health-cmd", "test ! -f /bad", "--health-interval", "1h", "--health-retries", "1"}, "sleep", "600")
	id := id12(inspect(t, name).ID)
	check := func(wantStatus string, wantValue float64) {
		t.Helper()
		_ = exec.Command("podman", "healthcheck", "run", name).Run() // exit 1 when unhealthy
		in := inspect(t, name)
		if in.State.Health == nil || in.State.Health.Status != wantStatus {
			t.Fatalf("podman inspect health = %+v, want %s", in.State.Health, wantStatus)
		}
		h.waitValue("podman_container_health", id, wantValue, 10*time.Second)
		h.waitValue("podman_container_health_failing_streak", id, float64(in.State.Health.FailingStreak), 5*time.Second)
	}
	check("healthy", 0)
	podmanCLI(t, "exec", name, "sh", "-c", ">/bad")
	check("unhealthy", 1)
	h.waitValue("podman_container_health_last_exit_code", id, 1, 5*time.Second)
	podmanCLI(t, "exec", name, "busybox", "rm", "/bad")
	check("healthy", 0)
	// The first check is the baseline; the two after it are counted, one of each.
	h.waitValue("podman_container_health_checks_total", map[string]string{"id": id["id"], "result": "failure"}, 1, 5*time.Second)
	h.waitValue("podman_container_health_checks_total", map[string]string{"id": id["id"], "result": "success"}, 1, 5*time.Second)
}

func TestPodmanRestartAndOOM(t *testing.T) {
	p := testenv.RequirePodman(t)
	h := startPodman(t, nil, p.Socket)

	restarter := testenv.UniqueName("restart")
	p.Run(t, restarter, []string{"--restart", "on-failure:2"}, "sh", "-c", "sleep 0.3; exit 1")
	var in inspected
	testenv.Eventually(t, 30*time.Second, "podman to restart the container twice", func() bool {
		in = inspect(t, restarter)
		return in.RestartCount >= 2 && in.State.Status == "exited"
	})
	h.waitValue("podman_container_restarts_total", id12(in.ID), float64(in.RestartCount), 10*time.Second)
	h.waitValue("podman_container_exit_code", id12(in.ID), 1, 5*time.Second)

	oom := testenv.UniqueName("oom")
	// A 64 MiB shell variable in a 16 MiB container.
	p.Run(t, oom, []string{"--memory", "16m", "--memory-swap", "16m"}, "sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); sleep 600")
	testenv.Eventually(t, 30*time.Second, "the kernel to OOM-kill the container", func() bool {
		in = inspect(t, oom)
		return in.State.Status == "exited"
	})
	// Podman 4.3 on cgroup v1 memory does not notice memcg OOM kills, so its inspect
	// cannot be the reference here: the kernel's own record of the kill is.
	if !in.State.OOMKilled && !kernelLogsOOM(t, in.ID) {
		t.Fatalf("neither podman (exit %d) nor the kernel log shows an OOM kill of %s", in.State.ExitCode, in.ID)
	}
	h.waitValue("podman_container_oom_killed", id12(in.ID), 1, 10*time.Second)
	h.waitValue("podman_container_exit_code", id12(in.ID), float64(in.State.ExitCode), 5*time.Second)
}

// kernelLogsOOM looks for the kernel's oom-kill line naming the container's memory cgroup.
func kernelLogsOOM(t *testing.T, id string) bool {
	t.Helper()
	out, err := exec.Command("dmesg").Output()
	if err != nil {
		t.Fatalf("dmesg: %v", err)
	}
	return strings.Contains(string(out), "oom_memcg=") && strings.Contains(string(out), "libpod-"+id)
}

// netDev reads a container's counters as the kernel has them, by the test itself.
func netDev(t *testing.T, pid int) (rx, tx uint64) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n")[2:] {
		iface, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(iface) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		r, _ := strconv.ParseUint(f[0], 10, 64)
		x, _ := strconv.ParseUint(f[8], 10, 64)
		rx, tx = rx+r, tx+x
	}
	return rx, tx
}

func TestPodmanNetworkCounters(t *testing.T) {
	p := testenv.RequirePodman(t)
	h := startPodman(t, nil, p.Socket)
	server := testenv.UniqueName("httpd")
	p.Run(t, server, nil, "sh", "-c", "mkdir -p /www && head -c 1048576 /dev/zero > /www/blob && httpd -f -p 8080 -h /www")
	srv := inspect(t, server)
	var ip string
	testenv.Eventually(t, 10*time.Second, "the server's IP", func() bool {
		ip = podmanCLI(t, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", server)
		return ip != ""
	})
	client := testenv.UniqueName("wget")
	// Ten fetches of 1 MiB, then idle so the counters stand still for the comparison.
	p.Run(t, client, nil, "sh", "-c", fmt.Sprintf("sleep 1; for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O /dev/null http://%s:8080/blob; done; sleep 600", ip))
	cli := inspect(t, client)

	testenv.Eventually(t, 30*time.Second, "the client to receive 10 MiB", func() bool {
		rx, _ := netDev(t, cli.State.Pid)
		return rx > 10<<20
	})
	time.Sleep(500 * time.Millisecond) // let the last packets settle
	for _, c := range []inspected{srv, cli} {
		rx, tx := netDev(t, c.State.Pid)
		testenv.Eventually(t, 10*time.Second, "exported counters within 2% of /proc/PID/net/dev", func() bool {
			grx := h.value("podman_container_network_receive_bytes_total", id12(c.ID))
			gtx := h.value("podman_container_network_transmit_bytes_total", id12(c.ID))
			return math.Abs(grx-float64(rx)) <= 0.02*float64(rx) && math.Abs(gtx-float64(tx)) <= 0.02*float64(tx)
		})
		if compat, conv := h.value("podman_container_net_input_total", id12(c.ID)), h.value("podman_container_network_receive_bytes_total", id12(c.ID)); compat != conv {
			t.Errorf("compatible and conventional receive counters differ: %v vs %v", compat, conv)
		}
	}

	host := testenv.UniqueName("hostnet")
	p.Run(t, host, []string{"--network", "host"}, "sleep", "600")
	hid := id12(inspect(t, host).ID)
	h.waitValue("podman_container_host_network", hid, 1, 10*time.Second)
	time.Sleep(1500 * time.Millisecond) // a stats poll later, still no counters
	if v := h.value("podman_container_network_receive_bytes_total", hid); !math.IsNaN(v) {
		t.Errorf("host-network container reported %v received bytes; it must report none", v)
	}
}

// TestPodmanServiceRestart kills a real Podman API service of the test's own (on its own
// socket, so other tests keep theirs), restarts it, and watches up go 0 then 1.
func TestPodmanServiceRestart(t *testing.T) {
	p := testenv.RequirePodman(t)
	sock := t.TempDir() + "/podman.sock"
	uri := "unix://" + sock
	startService := func() *exec.Cmd {
		cmd := exec.Command("podman", "system", "service", "--time=0", uri)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 10*time.Second, "the service socket", func() bool { _, err := os.Stat(sock); return err == nil })
		return cmd
	}
	svc := startService()
	h := startPodman(t, nil, uri)
	svcLabel := map[string]string{"podman_service": uri}
	h.waitValue("podexporter_podman_up", svcLabel, 1, 15*time.Second)

	_ = svc.Process.Kill()
	_ = svc.Wait()
	os.Remove(sock)
	h.waitValue("podexporter_podman_up", svcLabel, 0, 10*time.Second)
	h.waitValue("podexporter_podman_snapshot_stale", svcLabel, 1, time.Second)

	// Changes made while the service is down show up after the reconnect's full re-list.
	name := testenv.UniqueName("afterrestart")
	id := p.Run(t, name, nil, "sleep", "600")
	svc = startService()
	t.Cleanup(func() { _ = svc.Process.Kill(); _ = svc.Wait() })
	h.waitValue("podexporter_podman_up", svcLabel, 1, 45*time.Second)
	h.waitValue("podman_container_state", map[string]string{"id": id[:12], "podman_service": uri}, 2, 10*time.Second)
	if got := h.value("podexporter_podman_event_stream_reconnects_total", svcLabel); got < 1 {
		t.Errorf("reconnects = %v, want at least 1", got)
	}
}

func TestPodmanLabelOptions(t *testing.T) {
	p := testenv.RequirePodman(t)
	cfg := &config.Config{Podman: config.Podman{
		ContainerLabels:     []string{"app", "com.example/long"},
		LabelValueMaxLength: 16,
		NameLabel:           true,
	}}
	h := startPodman(t, cfg, p.Socket)
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
}

// TestPodmanStatsMatchPodmanCLI compares resource values with `podman stats`, which
// computes them in the podman CLI from the same cgroups.
func TestPodmanStatsMatchPodmanCLI(t *testing.T) {
	p := testenv.RequirePodman(t)
	h := startPodman(t, nil, p.Socket)
	name := testenv.UniqueName("stats")
	// Writes 4 MiB once, then sleeps: the counters stand still for the comparison.
	id := p.Run(t, name, []string{"--memory", "256m"}, "sh", "-c", "head -c 4194304 /dev/urandom > /blob; sync; sleep 600")
	time.Sleep(1500 * time.Millisecond)
	out := podmanCLI(t, "stats", "--no-stream", "--format",
		"{{.ContainerStats.CPUNano}} {{.ContainerStats.CPUSystemNano}} {{.ContainerStats.MemUsage}} {{.ContainerStats.MemLimit}} {{.ContainerStats.PIDs}}", name)
	var cpu, sys, mem, limit, pids float64
	if _, err := fmt.Sscan(out, &cpu, &sys, &mem, &limit, &pids); err != nil {
		t.Fatalf("parse %q: %v", out, err)
	}
	l := id12(id)
	tests := []struct {
		metric string
		want   float64
		tol    float64 // relative
	}{
		{"podman_container_cpu_seconds_total", cpu / 1e9, 0.05},
		{"podman_container_cpu_system_seconds_total", sys / 1e9, 0.05},
		{"podman_container_cpu_user_seconds_total", (cpu - sys) / 1e9, 0.05},
		{"podman_container_mem_usage_bytes", mem, 0.05},
		{"podman_container_mem_limit_bytes", limit, 0},
		{"podman_container_pids", pids, 0},
	}
	for _, tc := range tests {
		testenv.Eventually(t, 10*time.Second, fmt.Sprintf("%s within %.0f%% of podman stats' %v", tc.metric, tc.tol*100, tc.want), func() bool {
			got := h.value(tc.metric, l)
			return math.Abs(got-tc.want) <= tc.tol*tc.want+1e-3
		})
	}
	if limit != 256<<20 {
		t.Errorf("podman stats says limit %v, want 256 MiB", limit)
	}
	// The memory cgroup detail is consistent with usage.
	ws := h.value("podman_container_memory_working_set_bytes", l)
	if ws <= 0 || ws > h.value("podman_container_mem_usage_bytes", l) {
		t.Errorf("working set %v not in (0, usage]", ws)
	}
}

// TestScrapesCauseNoAPICalls scrapes hundreds of times and counts the Podman API requests
// made meanwhile: polls run on their own clock (set to an hour here), so any requests
// seen come from events of other tests' containers, never from scrapes.
func TestScrapesCauseNoAPICalls(t *testing.T) {
	p := testenv.RequirePodman(t)
	mounts, _ := cgroupfs.ReadMounts("/proc/self/mountinfo")
	src := podman.NewSource([]string{p.Socket}, podman.Options{
		StatsInterval: time.Hour, SlowInterval: time.Hour, ProcRoot: "/proc", Cgroups: &mounts,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = src.Run(ctx, func() {}) }()
	t.Cleanup(func() { cancel(); <-done })
	cfg := &config.Config{Collectors: map[string]bool{}, Podman: config.Podman{LabelValueMaxLength: 128}}
	for _, n := range PodmanCollectorNames {
		cfg.Collectors[n] = true
	}
	set, err := New(Deps{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Podman: src})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(set)
	h := &podmanHarness{t: t, src: src, reg: set.Gatherer(reg)}
	h.waitValue("podexporter_podman_up", map[string]string{"podman_service": "rootful"}, 1, 15*time.Second)
	requests := func() float64 {
		total := 0.0
		for _, s := range src.Snapshots() {
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
}

// breakContainer leaves a container the way a host crash does: Podman still records
// it as running, but its processes and cgroups are gone, so Podman cannot give its
// stats (and, before podexporter asked for containers one by one, a stats call for
// all containers failed with it).
func breakContainer(t *testing.T, name string) {
	t.Helper()
	out := podmanCLI(t, "inspect", "--format", "{{.Id}} {{.State.Pid}} {{.State.ConmonPid}}", name)
	var id string
	var pid, conmon int
	if _, err := fmt.Sscan(out, &id, &pid, &conmon); err != nil {
		t.Fatalf("parse %q: %v", out, err)
	}
	for _, p := range []int{conmon, pid} {
		if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", p, err)
		}
	}
	var dirs []string
	err := filepath.WalkDir("/sys/fs/cgroup", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if strings.Contains(d.Name(), id) {
			dirs = append(dirs, path)
		}
		return nil
	})
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cgroup directory of container %s found (%v)", id, err)
	}
	testenv.Eventually(t, 5*time.Second, "the container's cgroups removed", func() bool {
		left := 0
		for _, d := range slices.Backward(dirs) {
			if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
				left++
			}
		}
		return left == 0
	})
}

// TestPodmanStatsSurviveBrokenContainer: one container Podman cannot give stats for
// must not take the others' resource metrics with it.
func TestPodmanStatsSurviveBrokenContainer(t *testing.T) {
	p := testenv.RequirePodman(t)
	testenv.RequireRoot(t)
	broken := testenv.UniqueName("stats-broken")
	p.Run(t, broken, nil, "sleep", "600")
	breakContainer(t, broken)
	if got := strings.TrimSpace(podmanCLI(t, "inspect", "--format", "{{.State.Status}}", broken)); got != "running" {
		t.Fatalf("broken container is %q to Podman, want running (the crash case)", got)
	}
	if out, err := exec.Command("podman", "stats", "--no-stream", broken).CombinedOutput(); err == nil {
		t.Fatalf("podman stats works for the broken container, so this test proves nothing: %s", out)
	}

	h := startPodman(t, nil, p.Socket)
	healthy := testenv.UniqueName("stats-healthy")
	id := p.Run(t, healthy, nil, "sleep", "600")
	testenv.Eventually(t, 15*time.Second, "CPU time of the healthy container next to a broken one", func() bool {
		return h.value("podman_container_cpu_seconds_total", id12(id)) > 0
	})
	if got := h.value("podexporter_podman_errors_total", map[string]string{"call": "stats"}); got < 1 {
		t.Errorf("stats errors = %v, want the broken container counted", got)
	}
}

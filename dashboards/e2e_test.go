package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
)

// TestDashboardsAgainstPrometheus is the end-to-end check: the real daemon watches real
// containers in the states the dashboards and alerts are about, a real Prometheus
// scrapes it every second with the shipped alert rules loaded, and every dashboard
// query and variable query must return data through Prometheus's HTTP API. A
// container held at 0.1 CPU and one whose child the kernel keeps OOM-killing must show
// up, throttled and killed, in the container dashboard's limit panels.
func TestDashboardsAgainstPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts podexporter, containers, a Collector and Prometheus")
	}
	p := testenv.RequirePodman(t)
	testenv.RequireJournald(t)
	promBin := testenv.RequireTool(t, "prometheus")
	// --ebpf.extras needs tracefs, which systemd mounts and a bare test host may not have.
	if _, err := os.Stat("/sys/kernel/tracing/events"); err != nil {
		if err := syscall.Mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil {
			t.Fatalf("mount tracefs: %v", err)
		}
	}
	dir := t.TempDir()
	binary := testenv.BuildDaemon(t, dir)
	collector := otelcoltest.StartCollector(t)

	// The logger and the unhealthy container start before the daemon so that its
	// start-up size measurement sees them (sizes are otherwise measured every 5 min).
	logger := testenv.UniqueName("dash-logger")
	unhealthy := testenv.UniqueName("dash-unhealthy")
	restarter := testenv.UniqueName("dash-restart")
	oom := testenv.UniqueName("dash-oom")
	throttled := testenv.UniqueName("dash-throttled")
	hog := testenv.UniqueName("dash-hog")
	volume := testenv.UniqueName("dash-vol")
	p.Run(t, logger, nil, "sh", "-c", `i=0; while :; do echo "info line $i"; echo "error line $i" >&2; i=$((i+1)); sleep 0.1; done`)
	p.Run(t, unhealthy, []string{"--health-cmd", "false", "--health-retries", "1", "--health-interval", "1h"}, "sleep", "600")
	// A volume with a file in it, for the largest volumes: measured by the same start-up
	// size round.
	p.Output(t, "volume", "create", volume)
	t.Cleanup(func() { _ = p.Command("volume", "rm", "-f", volume).Run() })
	p.Output(t, "run", "--rm", "-v", volume+":/data", testenv.Image, "sh", "-c", "head -c 1048576 /dev/zero > /data/blob")

	addr := testenv.FreeAddr(t)
	// A socket nobody serves: the Podman-unreachable alert and the stale panels.
	absent := "unix://" + filepath.Join(dir, "absent.sock")
	daemon := exec.Command(binary,
		"--web.listen-address="+addr,
		"--state.directory="+filepath.Join(dir, "state"),
		"--journal.sink=jsonl", "--journal.output="+filepath.Join(dir, "logs.jsonl"),
		"--podman.stats-interval=1s",
		"--podman.socket="+p.Socket, "--podman.socket="+absent,
		"--otlp.endpoint=http://"+collector.GRPCEndpoint, "--otlp.protocol=grpc", "--otlp.metrics.interval=1s",
		"--ebpf.enable", "--ebpf.extras",
	)
	var daemonErr bytes.Buffer
	daemon.Stderr = &daemonErr
	startProcess(t, daemon, "podexporter", &daemonErr)
	testenv.WaitReady(t, addr, 30*time.Second)

	// These need the daemon watching: the OOM kill is recognised as it happens, and
	// health checks are counted from the daemon's start.
	p.Run(t, restarter, []string{"--restart", "on-failure"}, "sh", "-c", "sleep 1; exit 1")
	// conmon writes a file named oom into its working directory when the kernel kills
	// the container, so this one is started from a temporary directory, not from the
	// package's.
	oomRun := exec.Command("podman", "run", "-d", "--name", oom, "--memory", "16m", "--memory-swap", "16m",
		testenv.Image, "sh", "-c", `x=$(head -c 67108864 /dev/zero | tr "\0" a)`)
	oomRun.Dir = t.TempDir()
	t.Cleanup(func() { p.Remove(oom) })
	if out, err := oomRun.CombinedOutput(); err != nil {
		t.Fatalf("podman run %s: %v: %s", oom, err, out)
	}
	// Busy at 0.1 CPU: throttled in nearly every period.
	p.Run(t, throttled, []string{"--cpus", "0.1"}, "sh", "-c", "while :; do :; done")
	// The hog's child allocates 64 MiB under a 16 MiB limit every 2 s and the kernel
	// OOM-kills it; the shell and its sleep go on, so the container keeps running and
	// its cgroup's counters keep their series. From a temporary directory for conmon's
	// oom file, as above.
	hogRun := exec.Command("podman", "run", "-d", "--name", hog, "--memory", "16m", "--memory-swap", "16m", testenv.Image,
		"sh", "-c", `sleep 600 & while :; do (x=$(head -c 67108864 /dev/zero | tr "\0" a)); sleep 2; done`)
	hogRun.Dir = t.TempDir()
	t.Cleanup(func() { p.Remove(hog) })
	if out, err := hogRun.CombinedOutput(); err != nil {
		t.Fatalf("podman run %s: %v: %s", hog, err, out)
	}
	_ = exec.Command("podman", "healthcheck", "run", unhealthy).Run() // exits 1: the check fails, as meant

	prom := startPrometheus(t, promBin, dir, addr, testenv.FreeAddr(t))

	values := map[string]string{
		"__rate_interval": "15s",
		"instance":        ".*",
		"podman_service":  ".*",
		"job":             ".*",
		"container":       strings.Join([]string{logger, unhealthy, restarter, oom, throttled, hog}, "|"),
		"systemd_manager": ".*",
	}
	type check struct {
		q    Query
		expr string
		gap  string // the known gap this query reads, if any
		seen bool
		note string
	}
	var checks []*check
	for _, q := range allQueries(t) {
		expr, err := Expand(q.Expr, values)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		c := &check{q: q, expr: expr}
		names, err := q.Metrics()
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if _, ok := knownGaps[name]; ok {
				c.gap = name
			}
			if _, ok := cannotCause[name]; ok {
				c.gap = name
			}
		}
		checks = append(checks, c)
	}

	// Counters need two samples in the 15 s window, the restarter a few restarts and the
	// OOM container its kill; poll until every query has data or the time is up.
	deadline := time.Now().Add(45 * time.Second)
	for {
		missing := 0
		for _, c := range checks {
			if c.seen {
				continue
			}
			c.seen, c.note = prom.hasData(t, c.expr, c.q.Label)
			if !c.seen && c.gap == "" {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	for name, why := range knownGaps {
		if seen, _ := prom.hasData(t, name, ""); seen {
			t.Errorf("%s has data now (%s no longer holds): remove it from knownGaps", name, why)
		}
	}

	// The throttled and the OOM-killed container in the container dashboard's limit
	// panels, as shipped: each panel's query, each container's own series, its value
	// what the kernel did to it. OOM kills come every few seconds, so the kills in a
	// 15 s rate interval are polled for.
	limitChecks := []struct {
		panel, refID, container, want string
		ok                            func(float64) bool
	}{
		{"CPU limit and usage", "B", throttled, "limit 0.1 cores", func(v float64) bool { return v == 0.1 }},
		{"CPU throttled", "A", throttled, "throttled in over 25% of periods", func(v float64) bool { return v > 0.25 }},
		{"Memory and limits", "C", hog, "max 16 MiB", func(v float64) bool { return v == 16<<20 }},
		{"Memory events", "A", hog, "OOM kills in the rate interval", func(v float64) bool { return v > 0 }},
	}
	containerValues := map[string]float64{}
	limitDeadline := time.Now().Add(30 * time.Second)
	for _, lc := range limitChecks {
		i := slices.IndexFunc(checks, func(c *check) bool {
			return c.q.Dashboard == "container.json" && c.q.Panel == lc.panel && c.q.RefID == lc.refID
		})
		if i < 0 {
			t.Errorf("container.json has no query %s / %s", lc.panel, lc.refID)
			continue
		}
		q := checks[i]
		var got []float64
		for {
			got = prom.valuesOf(t, q.expr, "name", lc.container)
			if len(got) == 1 && lc.ok(got[0]) || time.Now().After(limitDeadline) {
				break
			}
			time.Sleep(time.Second)
		}
		if len(got) != 1 || !lc.ok(got[0]) {
			// How Podman sees the container tells a test that went wrong (the
			// container died: the kernel chose its shell) from a query that did.
			state, _ := exec.Command("podman", "inspect", "--format", "status {{.State.Status}}, exit {{.State.ExitCode}}, OOMKilled {{.State.OOMKilled}}", lc.container).CombinedOutput()
			t.Errorf("%s: %s: want one series, %s; got %v (podman inspect: %s)", q.q, lc.container, lc.want, got, strings.TrimSpace(string(state)))
			continue
		}
		containerValues[lc.panel+" / "+lc.refID+" "+lc.container] = got[0]
	}

	wantFiring := []alertWant{
		{"PodmanContainerUnhealthy", "name", unhealthy},
		{"PodmanContainerRestarting", "name", restarter},
		{"PodmanContainerOOMKilled", "name", oom},
		{"PodexporterDown", "instance", prom.deadTarget},
		{"PodexporterPodmanUnreachable", "podman_service", absent},
		{"PodmanContainerCPUThrottled", "name", throttled},
		{"PodmanContainerOOMKills", "name", hog},
	}
	fired := prom.waitAlerts(t, wantFiring, 20*time.Second)
	// Nothing is wrong with these yet; firing now would mean the rule is always true.
	active := prom.activeAlerts(t)
	// ContainerHealthCheckStale: the unhealthy container's one check just ran, an hour
	// is its interval. SystemdManagerDown: on a host without systemd the daemon serves
	// podexporter_systemd_up 0 from the start, by design, which must not alert.
	for _, name := range []string{"PodexporterJournalLag", "PodexporterOTLPExportFailing", "PodexporterCollectorFailing",
		"ContainerHealthCheckStale", "SystemdManagerDown"} {
		for _, a := range active {
			if a.Labels["alertname"] == name && (a.Labels["instance"] == addr || a.Labels["instance"] == "") {
				t.Errorf("%s is %s before anything failed: %v", name, a.State, a.Labels)
			}
		}
	}

	// Now the receiver refuses every export: the OTLP alert must fire.
	collector.FailExports(false)
	otlpFired := prom.waitAlerts(t, []alertWant{{"PodexporterOTLPExportFailing", "instance", addr}}, 30*time.Second)
	collector.AcceptExports()
	for k, v := range otlpFired {
		fired[k] = v
	}

	// The kernel picks which process of the OOM container dies; only the shell's death
	// ends the container with 137, which is what podman_container_oom_killed reports.
	if out, err := exec.Command("podman", "inspect", "--format", "exit {{.State.ExitCode}}, OOMKilled {{.State.OOMKilled}}, status {{.State.Status}}", oom).Output(); err == nil {
		t.Logf("OOM container as podman sees it: %s", strings.TrimSpace(string(out)))
	}

	var report strings.Builder
	fmt.Fprintf(&report, "dashboard queries against Prometheus (%d):\n", len(checks))
	for _, c := range checks {
		state := "DATA"
		switch {
		case c.seen:
		case knownGaps[c.gap] != "":
			state = "GAP"
			t.Logf("%s has no data: known gap in %s: %s", c.q, c.gap, knownGaps[c.gap])
		case cannotCause[c.gap] != "":
			state = "SKIPPED"
			t.Logf("%s has no data, as expected: %s: %s", c.q, c.gap, cannotCause[c.gap])
		default:
			state = "NO DATA"
			t.Errorf("%s returned no data: %s (%s)", c.q, c.expr, c.note)
		}
		fmt.Fprintf(&report, "  %-8s %s\n", state, c.q)
	}
	fmt.Fprintf(&report, "throttled and OOM-killed containers in the container dashboard:\n")
	for k, v := range containerValues {
		fmt.Fprintf(&report, "  %s = %g\n", k, v)
	}
	fmt.Fprintf(&report, "alert rules:\n")
	for _, r := range loadRules(t) {
		state := "not fired"
		if f, ok := fired[r.Alert]; ok {
			state = "FIRED: " + f
		}
		fmt.Fprintf(&report, "  %-30s %s\n", r.Alert, state)
	}
	t.Log(report.String())
	if t.Failed() {
		t.Logf("podexporter stderr:\n%s", lastLines(daemonErr.String(), 30))
	}
}

// knownGaps are metric families the daemon should serve in this test but does not, each
// with the reason. Panels that read them are reported as gaps instead of failing the
// test, and the test fails as soon as the family has data, so that the entry goes.
var knownGaps = map[string]string{}

// cannotCause are families that have series only after an event this test cannot
// cause; panels that read them are reported, not failed.
//
// The service layer's unit families need Quadlet units of a connected systemd
// manager: this test starts its containers with podman run, and the prepared test host
// has no systemd manager at all (PID 1 is not systemd). podexporter_systemd_up and
// _reconnects_total are not here: the daemon serves them for the system manager with
// or without one (0 or 1), so their panels must have data. The systemd host of `make
// systemd-e2e` (deploy/) is where the unit families are real; it can run the same
// queries against a Prometheus of its own: Queries (queries.go), those whose Metrics
// name a family listed here, each Expand-ed.
var cannotCause = map[string]string{
	"podman_container_memory_high_bytes":                 cgroupV2Memory + "; on v2 it is absent unless memory.high is set (--cgroup-conf memory.high=...)",
	"podman_container_memory_high_events_total":          cgroupV2Memory,
	"podman_container_memory_low_events_total":           cgroupV2Memory,
	"podman_container_memory_oom_events_total":           cgroupV2Memory,
	"podman_quadlet_unit_info":                           needsQuadlet,
	"podman_quadlet_unit_state":                          needsQuadlet,
	"podman_quadlet_unit_result":                         needsQuadlet,
	"podman_quadlet_unit_restarts_total":                 needsQuadlet,
	"podman_quadlet_unit_main_exit_status":               needsQuadlet,
	"podman_quadlet_unit_state_change_timestamp_seconds": needsQuadlet,
	"podman_quadlet_file_without_unit":                   needsQuadlet,
	"podexporter_systemd_resyncs_total":                  "counts reads of a connected manager's units: none on a host without systemd",
	"podexporter_systemd_errors_total": "counts failures talking to a manager: on a host without systemd from the start (reason connect), " +
		"on one with systemd only after a failure this test does not cause",
	"podman_container_packet_drops_total": "series appear only once the kernel drops a packet that belongs to a container's socket; " +
		"on loopback with busybox tools none does (a SYN to a closed port has no socket, a zero window and an RST were tried), " +
		"and traffic beyond loopback is not allowed here; bpf/extras_test.go covers the counting",
}

// cgroupV2Memory: the test host binds the memory controller to cgroup v1 (its cgroup2
// tree, mounted beside, has no memory controller and gives pressure only); internal/cgroupfs
// tests the v2 files with fixtures.
const cgroupV2Memory = "cgroup v1's memory controller has no memory.high and counts no low, high or oom events (only oom_kill, " +
	"in memory.oom_control, and max, as failcnt); this host binds memory to v1"

const needsQuadlet = "series exist only for Quadlet units and files of a connected systemd manager; " +
	"this test runs its containers with podman run, and a test host need not run systemd; make systemd-e2e's host has both"

// startProcess starts cmd and stops it with SIGTERM (SIGKILL after 10 s) when the
// test ends.
func startProcess(t *testing.T, cmd *exec.Cmd, what string, stderr *bytes.Buffer) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", what, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// promServer is a real Prometheus scraping the daemon and a dead target.
type promServer struct {
	base       string
	deadTarget string
}

// forRE finds the for: of each rule; the test's copy of the rules waits for nothing,
// so that alerts fire within the test's seconds.
var forRE = regexp.MustCompile(`(?m)^(\s*)for: \S+$`)

func startPrometheus(t *testing.T, bin, dir, target, listen string) *promServer {
	t.Helper()
	rules, err := Files.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	rulesFile := filepath.Join(dir, "alerts.yml")
	if err := os.WriteFile(rulesFile, forRE.ReplaceAll(rules, []byte("${1}for: 0s")), 0o644); err != nil {
		t.Fatal(err)
	}
	dead := testenv.FreeAddr(t) // closed again: nothing listens there
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: podexporter
    static_configs:
      - targets: [%q, %q]
`, rulesFile, target, dead)
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+configFile, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+listen, "--log.level=warn")
	cmd.Stderr = &stderr
	startProcess(t, cmd, "prometheus", &stderr)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("prometheus stderr:\n%s", lastLines(stderr.String(), 20))
		}
	})
	s := &promServer{base: "http://" + listen, deadTarget: dead}
	testenv.Eventually(t, 30*time.Second, "prometheus to be ready", func() bool {
		resp, err := http.Get(s.base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return s
}

func (s *promServer) get(t *testing.T, path string, params url.Values, into any) error {
	t.Helper()
	resp, err := http.Get(s.base + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("%s: %v: %s", path, err, body)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s: %s", path, env.Error)
	}
	return json.Unmarshal(env.Data, into)
}

// hasData runs an instant query; for a variable's label_values it also needs the label.
// A query Prometheus rejects fails the test at once: it would be broken in Grafana too.
func (s *promServer) hasData(t *testing.T, expr, label string) (bool, string) {
	t.Helper()
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := s.get(t, "/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	switch data.ResultType {
	case "scalar":
		return true, ""
	case "vector", "matrix":
		var series []struct {
			Metric map[string]string `json:"metric"`
		}
		if err := json.Unmarshal(data.Result, &series); err != nil {
			t.Fatal(err)
		}
		if label == "" {
			return len(series) > 0, fmt.Sprintf("%d series", len(series))
		}
		for _, m := range series {
			if m.Metric[label] != "" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d series, none with label %s", len(series), label)
	}
	return false, "result type " + data.ResultType
}

// valuesOf runs an instant query and returns the values of the series whose label has
// value.
func (s *promServer) valuesOf(t *testing.T, expr, label, value string) []float64 {
	t.Helper()
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := s.get(t, "/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	var out []float64
	for _, r := range data.Result {
		if r.Metric[label] != value {
			continue
		}
		str, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			t.Fatalf("query %s: value %v: %v", expr, r.Value[1], err)
		}
		out = append(out, v)
	}
	return out
}

type alert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

func (s *promServer) activeAlerts(t *testing.T) []alert {
	t.Helper()
	var data struct {
		Alerts []alert `json:"alerts"`
	}
	if err := s.get(t, "/api/v1/alerts", nil, &data); err != nil {
		t.Fatal(err)
	}
	return data.Alerts
}

// alertWant is an alert expected to fire for the series whose label has value.
type alertWant struct{ name, label, value string }

// waitAlerts waits until every wanted alert fires and returns, per alert name, the
// label that identified it; the ones that did not fire in time are test errors.
func (s *promServer) waitAlerts(t *testing.T, want []alertWant, timeout time.Duration) map[string]string {
	t.Helper()
	fired := map[string]string{}
	deadline := time.Now().Add(timeout)
	for {
		for _, a := range s.activeAlerts(t) {
			for _, w := range want {
				if a.State == "firing" && a.Labels["alertname"] == w.name && a.Labels[w.label] == w.value {
					fired[w.name] = w.label + "=" + w.value
				}
			}
		}
		if len(fired) == len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, w := range want {
		if _, ok := fired[w.name]; !ok {
			t.Errorf("alert %s did not fire for %s=%s within %s", w.name, w.label, w.value, timeout)
		}
	}
	return fired
}

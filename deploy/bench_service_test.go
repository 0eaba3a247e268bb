//go:build systemd_e2e

package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/podexporter/podexporter/internal/testenv"
)

// The service layer's cost (issue 21): scrape p50 and idle CPU of the real daemon in a
// booted systemd host with Podman 5 and Quadlet, the service layer off (A: today's
// daemon, --no-collector.systemd --no-collector.hardening) against on (B: the
// defaults), fresh daemon per run, interleaved A B A B A B. `make bench-service`
// (scripts/bench-service.sh) runs it; BENCH_SERVICE=1 guards it, so `make
// systemd-e2e` and `make test` never do.
//
// Settings, all optional: BENCH_SERVICE_BINARY (the daemon to measure; else built
// here), BENCH_SERVICE_UNITS (Quadlet .container units, 50), BENCH_SERVICE_PLAIN
// (plain `podman run -d` containers, 50), BENCH_SERVICE_RUNS (pairs, 3),
// BENCH_SERVICE_IDLE_SECONDS (60), BENCH_SERVICE_SCRAPE_SECONDS (10 per format),
// BENCH_SERVICE_CADENCE_SCRAPES (scrapes 11 s apart, each after a new Podman
// snapshot, 6), BENCH_SERVICE_HEALTH (a HealthInterval= such as 1m: the Quadlet units
// then have a health check, run by systemd timers, which makes D-Bus traffic during
// the idle window), BENCH_SERVICE_MAX_LOAD (wait, at most 15 minutes, before each A/B
// pair until the VM's 1-minute load average is below it), BENCH_SERVICE_PERF (a
// directory: afterwards, one more daemon with the service layer on, built with its
// symbols, sampled by perf on the VM over an idle window; perf.data and two reports).

// benchSvcPromAccept is what Prometheus 2.x sends when it scrapes.
const benchSvcPromAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

// benchSvcRun is one fresh daemon's figures.
type benchSvcRun struct {
	variant          string
	cpuTicksPerMin   float64 // /proc/PID/stat utime+stime, CPU-seconds per minute
	cpuCgroupPerMin  float64 // the unit's cgroup cpu.stat usage_usec, CPU-seconds per minute
	rssMiB, anonMiB  float64
	fileMiB          float64
	p50Gzip, p50Text float64 // ms
	cpuPerScrapeMs   float64 // daemon CPU per scrape while scraped back to back (gzip)
	// A scrape as Prometheus's interval meets it: the first after a stats round
	// published a new Podman snapshot, so the cached part is encoded again.
	cadenceMs, cadenceCPUMs float64
	series                  int
	signals                 int // systemd's signals on a private connection during the idle window
	quadletSignals          int // of them, about the benchmark's Quadlet units
	resyncs                 float64
	load                    float64 // the VM's 1-minute load average as the idle window began
}

func benchSvcEnvInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a count", name, v)
	}
	return n
}

// TestBenchService measures the service layer's cost; see the comment above.
func TestBenchService(t *testing.T) {
	if os.Getenv("BENCH_SERVICE") != "1" {
		t.Skip("a 20-minute benchmark: make bench-service (BENCH_SERVICE=1) runs it")
	}
	units := benchSvcEnvInt(t, "BENCH_SERVICE_UNITS", 50)
	plain := benchSvcEnvInt(t, "BENCH_SERVICE_PLAIN", 50)
	runs := benchSvcEnvInt(t, "BENCH_SERVICE_RUNS", 3)
	idle := benchSvcEnvInt(t, "BENCH_SERVICE_IDLE_SECONDS", 60)
	scrapeSecs := benchSvcEnvInt(t, "BENCH_SERVICE_SCRAPE_SECONDS", 10)
	health := os.Getenv("BENCH_SERVICE_HEALTH")
	testenv.RequireTool(t, "wrk")
	testenv.RequireTool(t, "nsenter")

	bin := os.Getenv("BENCH_SERVICE_BINARY")
	if bin == "" {
		bin = testenv.BuildDaemon(t, t.TempDir())
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	h := StartSystemdHost(t, DefaultSystemdHost)
	fmt.Printf("bench-service: host container %s\n", h.Name)
	h.LoadImage(testenv.Image)
	h.CopyIn(bin, "podexporter")
	h.CopyIn(self, "deploy.test") // the D-Bus signal witness, TestBenchServiceSignalWitness
	hostPID := strings.TrimSpace(benchSvcVM(t, "inspect", "-f", "{{.State.Pid}}", h.Name))
	t.Logf("systemd host booted in %s", time.Since(start).Round(time.Second))

	// 50 Quadlet units, each a .container file in /etc/containers/systemd that the
	// generator turns into a service, started a few at a time.
	healthLines := ""
	if health != "" {
		healthLines = "HealthCmd=exit 0\nHealthInterval=" + health + "\n"
	}
	benchSvcSh(t, h, fmt.Sprintf(`set -e
mkdir -p /etc/containers/systemd
for i in $(seq 1 %d); do
cat > /etc/containers/systemd/bench-q-$i.container <<EOF
[Unit]
Description=bench-service Quadlet unit $i

[Container]
Image=%s
ContainerName=bench-q-$i
Exec=sleep 1000000
%s
[Service]
Restart=always
TimeoutStartSec=300
EOF
done
systemctl daemon-reload`, units, testenv.Image, healthLines))
	for i := 1; i <= units; i += 5 {
		var names []string
		for j := i; j < i+5 && j <= units; j++ {
			names = append(names, fmt.Sprintf("bench-q-%d.service", j))
		}
		if out, err := h.Exec(append([]string{"systemctl", "start"}, names...)...); err != nil {
			st, _ := h.Sh("systemctl status --no-pager -n 20 " + names[0])
			t.Fatalf("start %v: %v\n%s\n%s", names, err, out, st)
		}
	}
	if plain > 0 {
		benchSvcSh(t, h, fmt.Sprintf(`seq 1 %d | xargs -P 4 -I{} podman run -d --name bench-plain-{} %s sleep 1000000 >/dev/null`, plain, testenv.Image))
	}
	running, _ := strconv.Atoi(strings.TrimSpace(benchSvcSh(t, h, `podman ps -q | wc -l`)))
	active, _ := strconv.Atoi(strings.TrimSpace(benchSvcSh(t, h, `systemctl list-units --state=active --plain --no-legend 'bench-q-*.service' | wc -l`)))
	if running != units+plain || active != units {
		t.Fatalf("%d containers running, want %d; %d Quadlet units active, want %d", running, units+plain, active, units)
	}
	t.Logf("%d containers running (%d of them Quadlet units) after %s", running, units, time.Since(start).Round(time.Second))

	variants := []struct {
		name  string
		flags []string
	}{
		{"A: service layer off", []string{"--no-collector.systemd", "--no-collector.hardening"}},
		{"B: service layer on", nil},
	}
	var all []benchSvcRun
	n := 0
	maxLoad, _ := strconv.ParseFloat(os.Getenv("BENCH_SERVICE_MAX_LOAD"), 64)
	for r := 0; r < runs; r++ {
		// The VM is shared: a pair starts once the load is down, if asked to wait.
		if maxLoad > 0 {
			for waited := time.Duration(0); benchSvcLoad() > maxLoad && waited < 15*time.Minute; waited += 10 * time.Second {
				time.Sleep(10 * time.Second)
			}
		}
		for _, v := range variants {
			n++
			res := benchSvcOne(t, h, hostPID, n, v.name, v.flags, units+plain, units, idle, scrapeSecs)
			t.Logf("run %d %s: %+v", n, v.name, res)
			all = append(all, res)
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	if dir := os.Getenv("BENCH_SERVICE_PERF"); dir != "" {
		benchSvcPerf(t, h, hostPID, dir, units+plain, units, idle)
	}
	if len(all) == 0 {
		return
	}
	fmt.Println(benchSvcTable(all, variants[0].name, variants[1].name))
	fmt.Printf("bench-service: %d containers (%d Quadlet units, %d plain), %d runs per variant interleaved, idle %d s, scrapes %d s per format; VM load average at the end: %s",
		units+plain, units, plain, runs, idle, scrapeSecs, load)
	if health != "" {
		fmt.Printf("bench-service: Quadlet units with HealthCmd, HealthInterval=%s\n", health)
	}
}

// benchSvcOne runs one fresh daemon through the idle window and the scrapes.
func benchSvcOne(t *testing.T, h *SystemdHost, hostPID string, n int, variant string, flags []string, containers, units, idle, scrapeSecs int) benchSvcRun {
	t.Helper()
	unit := fmt.Sprintf("bench-pe-%d", n)
	pid, cg, stop := benchSvcStart(t, h, unit, "/e2e/podexporter", flags, containers, units)
	defer stop()
	resyncs0 := benchSvcResyncs(h)
	time.Sleep(20 * time.Second) // past the first stats rounds and the start-up page trim

	// The idle window: nothing asks the daemon; a second subscriber on systemd's
	// private socket counts the signals podexporter's connection receives too (systemd
	// sends every signal to every private-socket peer).
	stopWitness := benchSvcWitness(t, h, unit, idle+120)
	res := benchSvcRun{variant: variant, load: benchSvcLoad()}
	read := fmt.Sprintf(`awk '{ print $14 + $15 }' /proc/%[1]s/stat; awk '$1 == "usage_usec" { print $2 }' %[2]s; cut -d' ' -f1 /proc/uptime`, pid, cg)
	c0 := benchSvcFloats(t, benchSvcSh(t, h, read))
	time.Sleep(time.Duration(idle) * time.Second)
	c1 := benchSvcFloats(t, benchSvcSh(t, h, read))
	status := benchSvcSh(t, h, fmt.Sprintf(`awk '$1 == "VmRSS:" || $1 == "RssAnon:" || $1 == "RssFile:" { print $2 }' /proc/%s/status`, pid))
	witness := stopWitness()
	hz, _ := strconv.ParseFloat(strings.TrimSpace(benchSvcSh(t, h, "getconf CLK_TCK")), 64)
	mem := benchSvcFloats(t, status)
	secs := c1[2] - c0[2]
	res.cpuTicksPerMin = (c1[0] - c0[0]) / hz * 60 / secs
	res.cpuCgroupPerMin = (c1[1] - c0[1]) / 1e6 * 60 / secs
	res.rssMiB, res.anonMiB, res.fileMiB = mem[0]/1024, mem[1]/1024, mem[2]/1024
	t.Logf("%s: signal witness:\n%s", unit, witness)
	if m := regexp.MustCompile(`BENCH-WITNESS signals=(\d+) quadlet=(\d+)`).FindStringSubmatch(witness); m != nil {
		res.signals, _ = strconv.Atoi(m[1])
		res.quadletSignals, _ = strconv.Atoi(m[2])
	} else {
		t.Errorf("%s: the signal witness said nothing usable:\n%s", unit, witness)
		res.signals, res.quadletSignals = -1, -1
	}
	res.resyncs = benchSvcResyncs(h) - resyncs0

	body := benchSvcSh(t, h, "curl -s http://127.0.0.1:9883/metrics")
	var health []string
	for _, l := range strings.Split(body, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			res.series++
			if strings.HasPrefix(l, "podexporter_systemd_") {
				health = append(health, l)
			}
		}
	}
	daemonLog, _ := os.ReadFile(h.Dir + "/" + unit + ".log")
	t.Logf("%s: %s\ndaemon log:\n%s", unit, strings.Join(health, "\n"), daemonLog)

	// Scrapes 11 s apart: the stats round (every 10 s) has published a new snapshot
	// before each, as before nearly every scrape of a Prometheus at 15 s or more.
	if n := benchSvcEnvInt(t, "BENCH_SERVICE_CADENCE_SCRAPES", 6); n > 0 {
		idlePerSec := (c1[1] - c0[1]) / secs // usage_usec per second while idle
		var lat []float64
		k0 := benchSvcFloats(t, benchSvcSh(t, h, read))
		for range n {
			time.Sleep(11 * time.Second)
			out, err := exec.Command("nsenter", "-t", hostPID, "-n", "curl", "-s", "-o", "/dev/null", "-w", "%{time_total}",
				"-H", "Accept: "+benchSvcPromAccept, "-H", "Accept-Encoding: gzip", "http://127.0.0.1:9883/metrics").Output()
			if err != nil {
				t.Fatalf("curl: %v", err)
			}
			lat = append(lat, benchSvcFloats(t, string(out))[0]*1e3)
		}
		k1 := benchSvcFloats(t, benchSvcSh(t, h, read))
		res.cadenceMs = benchSvcMedian(lat)
		res.cadenceCPUMs = ((k1[1] - k0[1]) - idlePerSec*(k1[2]-k0[2])) / 1e3 / float64(n)
	}

	// Scrape p50: one scraper back to back, from the VM in the host's network
	// namespace; first as Prometheus asks (OpenMetrics, gzip), then plain text as curl
	// asks (the figure of docs/performance.md's other tables).
	u0 := benchSvcFloats(t, benchSvcSh(t, h, read))
	p50, reqs := benchSvcWrk(t, hostPID, scrapeSecs, "-H", "Accept: "+benchSvcPromAccept, "-H", "Accept-Encoding: gzip")
	u1 := benchSvcFloats(t, benchSvcSh(t, h, read))
	res.p50Gzip = p50
	if reqs > 0 {
		res.cpuPerScrapeMs = (u1[1] - u0[1]) / 1e3 / float64(reqs)
	}
	res.p50Text, _ = benchSvcWrk(t, hostPID, scrapeSecs)
	return res
}

// benchSvcStart starts the daemon inside the host as the transient service unit and
// waits until /metrics has every container and (service layer on) every unit. It
// returns the daemon's PID inside the host, its cgroup's cpu.stat and what stops it.
func benchSvcStart(t *testing.T, h *SystemdHost, unit, bin string, flags []string, containers, units int) (pid, cpuStat string, stop func()) {
	t.Helper()
	args := []string{"systemd-run", "--unit=" + unit, "--property=StandardOutput=append:/e2e/" + unit + ".log",
		"--property=StandardError=append:/e2e/" + unit + ".log",
		bin, "--podman.socket=unix:///run/podman/podman.sock", "--state.directory=/var/lib/" + unit}
	if out, err := h.Exec(append(args, flags...)...); err != nil {
		t.Fatalf("start %s: %v\n%s", unit, err, out)
	}
	stop = func() {
		if out, err := h.Exec("systemctl", "stop", unit); err != nil {
			t.Errorf("stop %s: %v\n%s", unit, err, out)
		}
	}
	pid = strings.TrimSpace(benchSvcSh(t, h, "systemctl show -p MainPID --value "+unit))
	cpuStat = "/sys/fs/cgroup" + strings.TrimSpace(benchSvcSh(t, h, "systemctl show -p ControlGroup --value "+unit)) + "/cpu.stat"
	deadline := time.Now().Add(3 * time.Minute)
	for {
		body, _ := h.Exec("curl", "-s", "-m", "10", "http://127.0.0.1:9883/metrics")
		ok := strings.Count(body, "\npodman_container_state{") >= containers
		if flags == nil {
			ok = ok && strings.Count(body, "\npodman_quadlet_unit_info{") >= units
		}
		if ok {
			return pid, cpuStat, stop
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(h.Dir + "/" + unit + ".log")
			stop()
			t.Fatalf("%s: not every container and unit in /metrics after 3 minutes\n%s", unit, log)
		}
		time.Sleep(time.Second)
	}
}

// benchSvcPerf profiles one more daemon with the service layer on (built with its
// symbols) over an idle window with perf on the VM, and writes perf.data and the
// report to dir. Not part of the table: sampling costs CPU.
func benchSvcPerf(t *testing.T, h *SystemdHost, hostPID, dir string, containers, units, idle int) {
	t.Helper()
	testenv.RequireTool(t, "perf")
	h.CopyIn(testenv.BuildDaemon(t, t.TempDir()), "podexporter-symbols")
	pid, _, stop := benchSvcStart(t, h, "bench-pe-perf", "/e2e/podexporter-symbols", nil, containers, units)
	defer stop()
	time.Sleep(20 * time.Second)
	// The daemon's PID on the VM: in the host's PID namespace, with pid as its last
	// NSpid.
	hostNS, err := os.Readlink("/proc/" + hostPID + "/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	vmPID := ""
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if ns, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err != nil || ns != hostNS {
			continue
		}
		status, _ := os.ReadFile("/proc/" + e.Name() + "/status")
		if m := regexp.MustCompile(`(?m)^NSpid:.*\s(\d+)$`).FindSubmatch(status); m != nil && string(m[1]) == pid {
			vmPID = e.Name()
		}
	}
	if vmPID == "" {
		t.Fatalf("no process of the host's PID namespace has NSpid %s", pid)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "perf.data")
	if out, err := exec.Command("perf", "record", "-g", "-F", "999", "-p", vmPID, "-o", data, "--", "sleep", strconv.Itoa(idle)).CombinedOutput(); err != nil {
		t.Fatalf("perf record: %v\n%s", err, out)
	}
	for _, r := range []struct{ file, children string }{{"perf-self.txt", "--no-children"}, {"perf-children.txt", "--children"}} {
		out, err := exec.Command("perf", "report", "--stdio", "-i", data, r.children, "--sort", "symbol", "-g", "none", "--percent-limit", "0.5").CombinedOutput()
		if err != nil {
			t.Errorf("perf report: %v\n%s", err, out)
		}
		if err := os.WriteFile(filepath.Join(dir, r.file), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Printf("bench-service: perf profile of the daemon with the service layer on, idle %d s: %s\n", idle, dir)
}

// benchSvcWitness starts TestBenchServiceSignalWitness inside the host and returns
// once it has subscribed (or after 30 s); stop ends its count and returns its output.
func benchSvcWitness(t *testing.T, h *SystemdHost, name string, maxSecs int) (stop func() string) {
	t.Helper()
	wdir := filepath.Join(h.Dir, "witness-"+name)
	if err := os.MkdirAll(wdir, 0o777); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var out string
	wg.Add(1)
	go func() {
		defer wg.Done()
		// timeout: a witness that hangs dumps its goroutines instead of the run.
		out, _ = h.Sh(fmt.Sprintf("BENCH_SERVICE_WITNESS_DIR=/e2e/witness-%s timeout -s QUIT %d /e2e/deploy.test -test.run '^TestBenchServiceSignalWitness$' -test.v 2>&1", name, maxSecs))
	}()
	for wait := 0; wait < 300; wait++ {
		if _, err := os.Stat(filepath.Join(wdir, "ready")); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return func() string {
		if err := os.WriteFile(filepath.Join(wdir, "stop"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		return out
	}
}

// benchSvcLoad is the VM's 1-minute load average.
func benchSvcLoad() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// benchSvcWrk runs wrk in the host's network namespace; it returns p50 in ms and the
// number of requests.
func benchSvcWrk(t *testing.T, hostPID string, secs int, headers ...string) (float64, int) {
	t.Helper()
	args := append([]string{"-t", hostPID, "-n", "wrk", "-t1", "-c1", fmt.Sprintf("-d%ds", secs), "--latency"}, headers...)
	out, err := exec.Command("nsenter", append(args, "http://127.0.0.1:9883/metrics")...).CombinedOutput()
	if err != nil {
		t.Fatalf("wrk: %v\n%s", err, out)
	}
	p50 := -1.0
	if m := regexp.MustCompile(`(?m)^\s+50%\s+([0-9.]+)(us|ms|s)\s*$`).FindStringSubmatch(string(out)); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		p50 = v * map[string]float64{"us": 1e-3, "ms": 1, "s": 1e3}[m[2]]
	}
	reqs := 0
	if m := regexp.MustCompile(`(\d+) requests in`).FindStringSubmatch(string(out)); m != nil {
		reqs, _ = strconv.Atoi(m[1])
	}
	if p50 < 0 || reqs == 0 || strings.Contains(string(out), "Non-2xx") {
		t.Fatalf("wrk gave no usable answer:\n%s", out)
	}
	return p50, reqs
}

// benchSvcResyncs sums podexporter_systemd_resyncs_total (0 when the source is off).
func benchSvcResyncs(h *SystemdHost) float64 {
	body, _ := h.Exec("curl", "-s", "http://127.0.0.1:9883/metrics")
	sum := 0.0
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "podexporter_systemd_resyncs_total{") {
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

func benchSvcFloats(t *testing.T, s string) []float64 {
	t.Helper()
	var out []float64
	for _, f := range strings.Fields(s) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatalf("not a number %q in %q", f, s)
		}
		out = append(out, v)
	}
	return out
}

func benchSvcSh(t *testing.T, h *SystemdHost, script string) string {
	t.Helper()
	out, err := h.Sh(script)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// benchSvcVM runs the VM's podman, events kept out of the VM's journal.
func benchSvcVM(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("podman", append([]string{"--events-backend=file"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func benchSvcMedian(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchSvcTable prints every run, then the medians per variant and B/A.
func benchSvcTable(all []benchSvcRun, a, b string) string {
	cols := []struct {
		title  string
		format string
		get    func(r benchSvcRun) float64
	}{
		{"idle CPU s/min (/proc stat)", "%.3f", func(r benchSvcRun) float64 { return r.cpuTicksPerMin }},
		{"idle CPU s/min (cgroup usage_usec)", "%.4f", func(r benchSvcRun) float64 { return r.cpuCgroupPerMin }},
		{"RSS MiB after idle", "%.1f", func(r benchSvcRun) float64 { return r.rssMiB }},
		{"anon MiB after idle", "%.1f", func(r benchSvcRun) float64 { return r.anonMiB }},
		{"scrape p50 ms (OpenMetrics, gzip)", "%.2f", func(r benchSvcRun) float64 { return r.p50Gzip }},
		{"scrape p50 ms (text, no gzip)", "%.2f", func(r benchSvcRun) float64 { return r.p50Text }},
		{"CPU ms per scrape (gzip)", "%.2f", func(r benchSvcRun) float64 { return r.cpuPerScrapeMs }},
		{"scrape ms after a new snapshot (gzip, median)", "%.2f", func(r benchSvcRun) float64 { return r.cadenceMs }},
		{"CPU ms per scrape after a new snapshot", "%.1f", func(r benchSvcRun) float64 { return r.cadenceCPUMs }},
		{"series per scrape", "%.0f", func(r benchSvcRun) float64 { return float64(r.series) }},
		{"systemd signals in idle window (Quadlet units')", "%.0f", func(r benchSvcRun) float64 { return float64(r.signals) }},
		{"resyncs in idle window", "%.0f", func(r benchSvcRun) float64 { return r.resyncs }},
		{"VM load (1 min)", "%.2f", func(r benchSvcRun) float64 { return r.load }},
	}
	var sb strings.Builder
	sb.WriteString("\n| run | variant |")
	for _, c := range cols {
		sb.WriteString(" " + c.title + " |")
	}
	sb.WriteString("\n|---|---|" + strings.Repeat("---|", len(cols)) + "\n")
	for i, r := range all {
		fmt.Fprintf(&sb, "| %d | %s |", i+1, r.variant)
		for _, c := range cols {
			cell := fmt.Sprintf(c.format, c.get(r))
			if c.title == "systemd signals in idle window (Quadlet units')" {
				cell = fmt.Sprintf("%d (%d)", r.signals, r.quadletSignals)
			}
			sb.WriteString(" " + cell + " |")
		}
		sb.WriteString("\n")
	}
	med := func(variant string, get func(benchSvcRun) float64) float64 {
		var v []float64
		for _, r := range all {
			if r.variant == variant {
				v = append(v, get(r))
			}
		}
		return benchSvcMedian(v)
	}
	sb.WriteString("\n| variant (median) |")
	for _, c := range cols {
		sb.WriteString(" " + c.title + " |")
	}
	sb.WriteString("\n|---|" + strings.Repeat("---|", len(cols)) + "\n")
	for _, v := range []string{a, b} {
		fmt.Fprintf(&sb, "| %s |", v)
		for _, c := range cols {
			fmt.Fprintf(&sb, " "+c.format+" |", med(v, c.get))
		}
		sb.WriteString("\n")
	}
	sb.WriteString("| **B / A** |")
	for _, c := range cols {
		x, y := med(a, c.get), med(b, c.get)
		if x == 0 || strings.HasPrefix(c.title, "VM load") {
			sb.WriteString(" – |")
			continue
		}
		fmt.Fprintf(&sb, " %.2f |", y/x)
	}
	sb.WriteString("\n")
	return sb.String()
}

// TestBenchServiceSignalWitness is not a test: the benchmark runs this binary inside
// the booted host around the idle window as a second subscriber on systemd's private
// socket, and counts the signals systemd sends, all and those about the benchmark's
// Quadlet units (bench-q-*), which are the ones podexporter's watch reads units for.
// It creates BENCH_SERVICE_WITNESS_DIR/ready once subscribed and counts until
// BENCH_SERVICE_WITNESS_DIR/stop appears.
func TestBenchServiceSignalWitness(t *testing.T) {
	dir := os.Getenv("BENCH_SERVICE_WITNESS_DIR")
	if dir == "" {
		t.Skip("run by TestBenchService inside the systemd host")
	}
	var ch chan *dbus.Signal
	var conn *dbus.Conn
	for attempt := 1; conn == nil; attempt++ {
		if attempt > 5 {
			t.Fatal("systemd did not answer Subscribe in 5 attempts")
		}
		c, err := dbus.Dial("unix:path=/run/systemd/private")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
			t.Fatal(err)
		}
		// A channel per connection: Close closes the channels registered on it.
		ch = make(chan *dbus.Signal, 4096)
		c.Signal(ch)
		// systemd 252 sometimes leaves the first call on a new private connection
		// unread until more bytes arrive (it came in one read with the
		// authentication's BEGIN); a Ping a second later makes it read both.
		obj := c.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
		call := obj.Go("org.freedesktop.systemd1.Manager.Subscribe", 0, make(chan *dbus.Call, 1))
		select {
		case <-call.Done:
		case <-time.After(time.Second):
			ping := obj.Go("org.freedesktop.DBus.Peer.Ping", 0, make(chan *dbus.Call, 1))
			select {
			case <-call.Done:
				fmt.Printf("witness: attempt %d: Subscribe answered only once a Ping followed it\n", attempt)
			case <-time.After(5 * time.Second):
				pingErr := "no answer"
				select {
				case <-ping.Done:
					pingErr = fmt.Sprint(ping.Err)
				default:
				}
				fmt.Printf("witness: attempt %d: no answer to Subscribe, even after a Ping (Ping: %s)\n", attempt, pingErr)
				c.Close()
				continue
			}
		}
		if err := call.Err; err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		fmt.Printf("witness: subscribed at attempt %d\n", attempt)
		conn = c
	}
	defer conn.Close()
	if err := os.WriteFile(filepath.Join(dir, "ready"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	members := map[string]int{}
	total, quadlet := 0, 0
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case s := <-ch:
			total++
			members[s.Name]++
			about := string(s.Path)
			for _, b := range s.Body {
				if str, ok := b.(string); ok {
					about += " " + str
				}
			}
			if strings.Contains(about, "bench-q-") || strings.Contains(about, "bench_2dq_2d") {
				quadlet++
			}
		case <-poll.C:
			if _, err := os.Stat(filepath.Join(dir, "stop")); err != nil {
				continue
			}
			fmt.Printf("BENCH-WITNESS signals=%d quadlet=%d members=%v\n", total, quadlet, members)
			return
		}
	}
}

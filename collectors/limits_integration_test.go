package collectors

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/cgroupfs"
	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/podman"
)

// The limits group against the kernel and Podman, per Podman service: each value is
// compared with the container's cgroup file as the test reads it itself, and with
// what the container was run with. On this test host the controllers are cgroup v1's
// and pressure comes from the cgroup2 tree beside them; cgroup v2's files are tested
// with fixtures in internal/cgroupfs.

// cgroupFile finds a file of a container's cgroup in the hierarchy of controller
// (cgroup2 for pressure), as the test host mounts it.
type cgroupFile struct {
	t      *testing.T
	mounts cgroupfs.Mounts
	path   string
}

func containerCgroup(t *testing.T, p *testenv.Podman, name string) cgroupFile {
	t.Helper()
	m, err := cgroupfs.ReadMounts("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return cgroupFile{t: t, mounts: m, path: p.Output(t, "inspect", "-f", "{{.State.CgroupPath}}", name)}
}

// name is the file's path: the v1 name in a v1 hierarchy, else the v2 name.
func (c cgroupFile) name(controller, v1, v2 string) string {
	if dir, ok := c.mounts.V1[controller]; ok && controller != "" {
		return dir + c.path + "/" + v1
	}
	return c.mounts.Unified + c.path + "/" + v2
}

func (c cgroupFile) v1(controller string) bool { _, ok := c.mounts.V1[controller]; return ok }

func (c cgroupFile) read(path string) string {
	c.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		c.t.Fatal(err)
	}
	return string(b)
}

// number reads a one-number file.
func (c cgroupFile) number(path string) float64 {
	c.t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSpace(c.read(path)), 64)
	if err != nil {
		c.t.Fatalf("%s: %v", path, err)
	}
	return v
}

// key reads one key of a flat keyed file (cpu.stat, memory.events, memory.stat).
func (c cgroupFile) key(path, key string) float64 {
	c.t.Helper()
	for _, line := range strings.Split(c.read(path), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				c.t.Fatalf("%s %s: %v", path, key, err)
			}
			return n
		}
	}
	c.t.Fatalf("%s has no %s", path, key)
	return 0
}

// pressure reads a PSI file's total in seconds, and whether the file is there.
func (c cgroupFile) pressure(resource, kind string) (float64, bool) {
	c.t.Helper()
	b, err := os.ReadFile(c.mounts.Unified + c.path + "/" + resource + ".pressure")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 5 && f[0] == kind {
			n, err := strconv.ParseFloat(strings.TrimPrefix(f[4], "total="), 64)
			if err != nil {
				c.t.Fatal(err)
			}
			return n / 1e6, true
		}
	}
	return 0, false
}

// gatherOnce reads several families of one container from one scrape, so that they
// come from the same stats round.
func (h *podmanHarness) gatherOnce(id string, families ...string) map[string]float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		out[f] = math.NaN()
	}
	for _, mf := range mfs {
		if _, want := out[mf.GetName()]; !want {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "id" && lp.GetValue() == id[:12] {
					out[mf.GetName()] = sampleValue(m)
				}
			}
		}
	}
	return out
}

// startLimits runs the source with a stats round a second: the counters are then read
// every 2 s, the limits every 10 s.
func startLimits(t *testing.T, p *testenv.Podman) *podmanHarness {
	return startPodmanWith(t, nil, podman.Options{StatsInterval: time.Second, SlowInterval: 10 * time.Second, SizeInterval: time.Hour}, p.Socket)
}

// A container limited to 0.2 CPUs and busy: its throttling counters grow, and each
// exported value lies between the file read before the reading that made it and the
// file read after (the counters only grow, so that brackets the exact value).
func TestPodmanCPUThrottling(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		h := startLimits(t, p)
		name := testenv.UniqueName("throttled")
		id := p.Run(t, name, []string{"--cpus", "0.2"}, "sh", "-c", "while :; do :; done")
		cg := containerCgroup(t, p, name)
		stat := cg.name("cpu", "cpu.stat", "cpu.stat")
		timeKey, timeScale := "throttled_usec", 1e6
		if cg.v1("cpu") {
			timeKey, timeScale = "throttled_time", 1e9
		}
		h.waitValue("podman_container_cpu_limit_cores", id12(id), 0.2, 10*time.Second)

		families := []string{"podman_container_cpu_periods_total", "podman_container_cpu_throttled_periods_total",
			"podman_container_cpu_throttled_seconds_total", "podman_container_pressure_cpu_waiting_seconds_total"}
		type reading struct{ periods, throttled, seconds, waiting float64 }
		file := func() reading {
			w, _ := cg.pressure("cpu", "some")
			return reading{cg.key(stat, "nr_periods"), cg.key(stat, "nr_throttled"), cg.key(stat, timeKey) / timeScale, w}
		}
		var first float64
		for round := range 2 {
			before := file()
			var got map[string]float64
			// A reading made after the test's: the counters that move all the time
			// (periods every 100 ms, pressure every microsecond of waiting) past it.
			_, psi := cg.pressure("cpu", "some")
			testenv.Eventually(t, 15*time.Second, "a reading of cpu.stat after the test's", func() bool {
				got = h.gatherOnce(id, families...)
				return got[families[0]] > before.periods && (!psi || got[families[3]] > before.waiting)
			})
			after := file()
			exported := reading{got[families[0]], got[families[1]], got[families[2]], got[families[3]]}
			t.Logf("round %d: file before %+v, exported %+v, file after %+v", round, before, exported, after)
			for _, c := range []struct {
				what      string
				lo, v, hi float64
				psi       bool
			}{
				{"periods", before.periods, exported.periods, after.periods, false},
				{"throttled periods", before.throttled, exported.throttled, after.throttled, false},
				{"throttled seconds", before.seconds, exported.seconds, after.seconds, false},
				{"cpu pressure some", before.waiting, exported.waiting, after.waiting, true},
			} {
				if c.psi {
					if _, ok := cg.pressure("cpu", "some"); !ok {
						continue // no PSI here: the family must be absent
					}
				}
				// A nanosecond of slack: the file's nanoseconds and Duration.Seconds
				// may round apart.
				if c.v < c.lo-1e-9 || c.v > c.hi+1e-9 {
					t.Errorf("%s: exported %v, not between the file's %v before and %v after", c.what, c.v, c.lo, c.hi)
				}
			}
			if exported.throttled == 0 || exported.throttled > exported.periods || exported.seconds <= 0 {
				t.Errorf("a busy container at 0.2 CPUs should be throttled in most periods: %+v", exported)
			}
			if round == 0 {
				first = exported.throttled
				time.Sleep(2 * time.Second)
			} else if exported.throttled <= first {
				t.Errorf("throttled periods did not grow: %v then %v", first, exported.throttled)
			}
		}
	})
}

// A container limited to 32 MiB (and 96 MiB with swap) whose child allocates 64 MiB:
// the kernel OOM-kills the child, the container goes on. Its memory events, peak and
// limits equal its cgroup files, and once it ends, Podman's own word on the kill.
func TestPodmanMemoryLimitAndOOMKill(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		h := startLimits(t, p)
		name := testenv.UniqueName("hog")
		id := p.Run(t, name, []string{"--memory", "32m", "--memory-swap", "96m"},
			"sh", "-c", `sleep 600 & (x=$(head -c 67108864 /dev/zero | tr "\0" a)); echo survived; wait`)
		cg := containerCgroup(t, p, name)
		testenv.Eventually(t, 30*time.Second, "the kernel to OOM-kill the hog", func() bool {
			return strings.Contains(p.Output(t, "logs", name), "survived")
		})
		var file map[string]float64
		if cg.v1("memory") {
			dir := cg.mounts.V1["memory"] + cg.path
			limit := cg.number(dir + "/memory.limit_in_bytes")
			file = map[string]float64{
				"podman_container_memory_max_bytes":             limit,
				"podman_container_memory_swap_max_bytes":        cg.number(dir+"/memory.memsw.limit_in_bytes") - limit,
				"podman_container_memory_swap_usage_bytes":      cg.key(dir+"/memory.stat", "total_swap"),
				"podman_container_memory_peak_bytes":            cg.number(dir + "/memory.max_usage_in_bytes"),
				"podman_container_memory_max_events_total":      cg.number(dir + "/memory.failcnt"),
				"podman_container_memory_oom_kill_events_total": cg.key(dir+"/memory.oom_control", "oom_kill"),
			}
		} else {
			dir := cg.mounts.Unified + cg.path
			file = map[string]float64{
				"podman_container_memory_max_bytes":             cg.number(dir + "/memory.max"),
				"podman_container_memory_swap_max_bytes":        cg.number(dir + "/memory.swap.max"),
				"podman_container_memory_swap_usage_bytes":      cg.number(dir + "/memory.swap.current"),
				"podman_container_memory_peak_bytes":            cg.number(dir + "/memory.peak"),
				"podman_container_memory_max_events_total":      cg.key(dir+"/memory.events", "max"),
				"podman_container_memory_oom_events_total":      cg.key(dir+"/memory.events", "oom"),
				"podman_container_memory_oom_kill_events_total": cg.key(dir+"/memory.events", "oom_kill"),
			}
		}
		// At least one kill: on a loaded host the kernel may kill the hog's shell too;
		// the metrics must then say as many as the file.
		if file["podman_container_memory_max_bytes"] != 32<<20 || file["podman_container_memory_swap_max_bytes"] != 64<<20 || file["podman_container_memory_oom_kill_events_total"] < 1 {
			t.Fatalf("the cgroup does not show the run's settings and the kill: %v", file)
		}
		families := make([]string, 0, len(file))
		for f := range file {
			families = append(families, f)
		}
		// The hog is dead and the rest sleeps: the files stand still, the values must
		// equal them once a stats round has read them.
		var got map[string]float64
		testenv.Eventually(t, 15*time.Second, fmt.Sprintf("the exported memory limits and events equal to the files %v", file), func() bool {
			got = h.gatherOnce(id, families...)
			for f, want := range file {
				if got[f] != want {
					return false
				}
			}
			return true
		})
		if v := h.value("podman_container_memory_high_bytes", id12(id)); cg.v1("memory") && !math.IsNaN(v) {
			t.Errorf("memory.high on cgroup v1, which has none: %v", v)
		}

		// Podman's view once the container ends: Podman 5's conmon watches the cgroup's
		// OOM events and says OOMKilled for a container that had a process killed;
		// Podman 4.3 on cgroup v1 memory does not notice (docs/architecture.md), so
		// there the kernel's log is the reference.
		p.Output(t, "stop", "-t", "0", name)
		in := inspect(t, p, name)
		if strings.HasPrefix(p.Version, "4.") && cg.v1("memory") {
			if in.State.OOMKilled || !kernelLogsOOM(t, in.ID) {
				t.Errorf("Podman %s: OOMKilled %v, kernel log of the kill %v", p.Version, in.State.OOMKilled, kernelLogsOOM(t, in.ID))
			}
		} else if in.State.OOMKilled != (got["podman_container_memory_oom_kill_events_total"] > 0) {
			t.Errorf("podman inspect says OOMKilled %v, the exported oom kills %v", in.State.OOMKilled, got["podman_container_memory_oom_kill_events_total"])
		}
	})
}

// Limits set and not set: --pids-limit, and a container without any limit, whose
// limit families are absent rather than the host's size or "max".
func TestPodmanLimitsSetAndUnset(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		h := startLimits(t, p)
		limited := testenv.UniqueName("pids")
		lid := p.Run(t, limited, []string{"--pids-limit", "64", "--cpuset-cpus", "0"}, "sleep", "600")
		cg := containerCgroup(t, p, limited)
		h.waitValue("podman_container_pids_limit", id12(lid), cg.number(cg.name("pids", "pids.max", "pids.max")), 10*time.Second)
		if v := h.value("podman_container_cpuset_cpus", id12(lid)); v != 1 {
			t.Errorf("--cpuset-cpus 0: cpuset_cpus %v", v)
		}

		free := testenv.UniqueName("nolimits")
		fid := p.Run(t, free, []string{"--pids-limit", "-1"}, "sleep", "600")
		fcg := containerCgroup(t, p, free)
		if got := strings.TrimSpace(fcg.read(fcg.name("pids", "pids.max", "pids.max"))); got != "max" {
			t.Fatalf("--pids-limit -1 left pids.max %q", got)
		}
		h.waitValue("podman_container_cpuset_cpus", id12(fid), float64(cpusOnline(t)), 10*time.Second)
		for _, f := range []string{"podman_container_pids_limit", "podman_container_cpu_limit_cores", "podman_container_memory_max_bytes",
			"podman_container_memory_swap_max_bytes", "podman_container_memory_high_bytes"} {
			if v := h.value(f, id12(fid)); !math.IsNaN(v) {
				t.Errorf("%s = %v for a container without that limit; want it absent", f, v)
			}
		}
		// No limit, no enforcement periods: the throttling families are absent, not 0.
		for _, f := range []string{"podman_container_cpu_periods_total", "podman_container_cpu_throttled_periods_total",
			"podman_container_cpu_throttled_seconds_total"} {
			if v := h.value(f, id12(fid)); !math.IsNaN(v) {
				t.Errorf("%s = %v without a CPU limit; want it absent", f, v)
			}
		}
	})
}

// cpusOnline counts the CPUs the host has online, as /sys says.
func cpusOnline(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, part := range strings.Split(strings.TrimSpace(string(b)), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, _ := strconv.Atoi(lo)
		z := a
		if isRange {
			z, _ = strconv.Atoi(hi)
		}
		n += z - a + 1
	}
	return n
}

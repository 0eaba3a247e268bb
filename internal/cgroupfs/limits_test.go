package cgroupfs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The fixture trees in testdata:
//   - hybrid: captured on this project's test VM (Linux 6.18, controllers on cgroup v1,
//     cgroup2 without controllers at /sys/fs/cgroup/unified) from a Podman 4.3 container
//     run with --cpus 0.2 --cpuset-cpus 0 --memory 32m --memory-swap 96m
//     --pids-limit 64, busy in a loop, after a child holding 64 MiB was OOM-killed;
//     unified/ is also what a cgroup2 host without controllers looks like.
//   - v2: written by hand in the format of the kernel's cgroup-v2 documentation
//     (Documentation/admin-guide/cgroup-v2.rst, accounting/psi.rst), since the test VM
//     binds every controller to v1: the same container under systemd's machine.slice,
//     one without any limit, and one as an older kernel with PSI partly off shows it.
const (
	hybridPath = "/libpod_parent/libpod-4330708cc7fd64bc2451fee12d57db673905a3c962add6b3291f39bf9a1d2be9"
	v2Limited  = "/machine.slice/libpod-4330708cc7fd64bc2451fee12d57db673905a3c962add6b3291f39bf9a1d2be9.scope"
	v2Free     = "/machine.slice/libpod-5b2e1c1bd3bbf0e3c8c6fd1aa4c0e4e5aeb1d1f6a0c9a7d1e2f3a4b5c6d7e8f9.scope"
	v2Older    = "/machine.slice/libpod-9f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c.scope"
)

// ages reads the limits once a minute and the counters every time.
var ages = Ages{Limits: time.Minute}

func hybridMounts(root string) *Mounts {
	m := &Mounts{Unified: filepath.Join(root, "unified"), V1: map[string]string{}}
	for _, c := range []string{"cpu", "cpuset", "memory", "pids"} {
		m.V1[c] = filepath.Join(root, c)
	}
	return m
}

// fileUint reads a number from a fixture file the way a person would, independently of
// the code under test.
func fileUint(t *testing.T, path string) uint64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fileKey reads one key of a flat keyed file.
func fileKey(t *testing.T, path, key string) uint64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("%s has no %s", path, key)
	return 0
}

// pressureTotal reads a PSI file's total for some or full.
func pressureTotal(t *testing.T, path, kind string) time.Duration {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 5 && f[0] == kind {
			n, err := strconv.ParseUint(strings.TrimPrefix(f[4], "total="), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return time.Duration(n) * time.Microsecond
		}
	}
	t.Fatalf("%s has no %s line", path, kind)
	return 0
}

func TestReadHybridV1(t *testing.T) {
	m := hybridMounts("testdata/hybrid")
	got := m.Read(hybridPath, nil, ages, time.Now())
	if got.MemoryErr != nil {
		t.Fatal(got.MemoryErr)
	}
	l := got.Limits
	cpu, mem := "testdata/hybrid/cpu"+hybridPath, "testdata/hybrid/memory"+hybridPath
	uni := "testdata/hybrid/unified" + hybridPath
	want := Limits{
		CPUQuota:         time.Duration(fileUint(t, cpu+"/cpu.cfs_quota_us")) * time.Microsecond,
		CPUPeriod:        time.Duration(fileUint(t, cpu+"/cpu.cfs_period_us")) * time.Microsecond,
		CPUs:             1, // --cpuset-cpus 0
		Periods:          fileKey(t, cpu+"/cpu.stat", "nr_periods"),
		ThrottledPeriods: fileKey(t, cpu+"/cpu.stat", "nr_throttled"),
		ThrottledTime:    time.Duration(fileKey(t, cpu+"/cpu.stat", "throttled_time")),
		MemoryMax:        fileUint(t, mem+"/memory.limit_in_bytes"),
		MemoryPeak:       fileUint(t, mem+"/memory.max_usage_in_bytes"),
		SwapUsage:        fileKey(t, mem+"/memory.stat", "total_swap"),
		SwapMax:          fileUint(t, mem+"/memory.memsw.limit_in_bytes") - fileUint(t, mem+"/memory.limit_in_bytes"),
		MaxEvents:        fileUint(t, mem+"/memory.failcnt"),
		OOMKills:         fileKey(t, mem+"/memory.oom_control", "oom_kill"),
		PIDsMax:          fileUint(t, "testdata/hybrid/pids"+hybridPath+"/pids.max"),
		Pressure: [3]Stall{
			{pressureTotal(t, uni+"/cpu.pressure", "some"), pressureTotal(t, uni+"/cpu.pressure", "full")},
			{pressureTotal(t, uni+"/memory.pressure", "some"), pressureTotal(t, uni+"/memory.pressure", "full")},
			{pressureTotal(t, uni+"/io.pressure", "some"), pressureTotal(t, uni+"/io.pressure", "full")},
		},
		// v1 has no memory.high, and no low, high or oom event counts.
		Have: HaveCPULimit | HaveCPUs | HaveThrottling | HaveMemoryMax | HaveMemoryPeak | HaveSwapUsage | HaveSwapMax |
			HaveMaxEvents | HaveOOMKills | HavePIDsMax | HaveCPUSome | HaveCPUFull | HaveMemorySome | HaveMemoryFull | HaveIOSome | HaveIOFull,
	}
	want.LimitsRead, want.CountersRead, want.missing = l.LimitsRead, l.CountersRead, l.missing
	if l != want {
		t.Errorf("got  %+v\nwant %+v", l, want)
	}
	// The values the run asked for, as a check on the capture itself.
	if l.CPUQuota*5 != l.CPUPeriod || l.MemoryMax != 32<<20 || l.SwapMax != 64<<20 || l.PIDsMax != 64 || l.OOMKills != 1 {
		t.Errorf("the capture does not show the container's settings: %+v", l)
	}
	if md := got.Memory; md.RSS != fileKey(t, mem+"/memory.stat", "total_rss") || md.InactiveFile != fileKey(t, mem+"/memory.stat", "total_inactive_file") {
		t.Errorf("memory detail %+v", md)
	}
}

func TestReadV2(t *testing.T) {
	m := &Mounts{Unified: "testdata/v2"}
	dir := "testdata/v2" + v2Limited
	l := m.Read(v2Limited, nil, ages, time.Now()).Limits
	want := Limits{
		CPUQuota: 20 * time.Millisecond, CPUPeriod: 100 * time.Millisecond, CPUs: 1,
		Periods: fileKey(t, dir+"/cpu.stat", "nr_periods"), ThrottledPeriods: fileKey(t, dir+"/cpu.stat", "nr_throttled"),
		ThrottledTime: time.Duration(fileKey(t, dir+"/cpu.stat", "throttled_usec")) * time.Microsecond,
		MemoryMax:     fileUint(t, dir+"/memory.max"), MemoryPeak: fileUint(t, dir+"/memory.peak"),
		SwapUsage: fileUint(t, dir+"/memory.swap.current"), SwapMax: fileUint(t, dir+"/memory.swap.max"),
		LowEvents: 0, HighEvents: 0, MaxEvents: fileKey(t, dir+"/memory.events", "max"),
		OOMEvents: fileKey(t, dir+"/memory.events", "oom"), OOMKills: fileKey(t, dir+"/memory.events", "oom_kill"),
		PIDsMax: 64,
		Pressure: [3]Stall{
			{pressureTotal(t, dir+"/cpu.pressure", "some"), pressureTotal(t, dir+"/cpu.pressure", "full")},
			{pressureTotal(t, dir+"/memory.pressure", "some"), pressureTotal(t, dir+"/memory.pressure", "full")},
			{pressureTotal(t, dir+"/io.pressure", "some"), pressureTotal(t, dir+"/io.pressure", "full")},
		},
		// memory.high is "max": no limit to report.
		Have: HaveCPULimit | HaveCPUs | HaveThrottling | HaveMemoryMax | HaveMemoryPeak | HaveSwapUsage | HaveSwapMax |
			HaveLowEvents | HaveHighEvents | HaveMaxEvents | HaveOOMEvents | HaveOOMKills | HavePIDsMax |
			HaveCPUSome | HaveCPUFull | HaveMemorySome | HaveMemoryFull | HaveIOSome | HaveIOFull,
	}
	want.LimitsRead, want.CountersRead, want.missing = l.LimitsRead, l.CountersRead, l.missing
	if l != want {
		t.Errorf("limited:\ngot  %+v\nwant %+v", l, want)
	}

	// Every limit "max": the limits are absent, the counters are there but for
	// throttling, which needs a CPU limit to count anything.
	free := m.Read(v2Free, nil, ages, time.Now()).Limits
	if free.Have&static != HaveCPUs || !free.Has(HaveMemoryPeak|HaveSwapUsage|HaveOOMKills|HaveIOFull) || free.Has(HaveThrottling) {
		t.Errorf("unlimited: have %b: want only the cpuset of the limits, and every counter but throttling", free.Have)
	}
	if free.SwapUsage != 4096 || free.MemoryPeak != 1142784 {
		t.Errorf("unlimited: %+v", free)
	}

	// No memory.peak (before Linux 5.19), no cpu "full" line (before 5.13), no swap
	// accounting, no cpuset controller, memory and io pressure off: left out, no error.
	old := m.Read(v2Older, nil, ages, time.Now())
	ol := old.Limits
	if old.MemoryErr != nil {
		t.Fatal(old.MemoryErr)
	}
	wantHave := HaveCPULimit | HaveThrottling | HaveMemoryMax | HaveMemoryHigh | HaveLowEvents | HaveHighEvents |
		HaveMaxEvents | HaveOOMEvents | HaveOOMKills | HavePIDsMax | HaveCPUSome
	if ol.Have != wantHave {
		t.Errorf("older kernel: have %b, want %b", ol.Have, wantHave)
	}
	if ol.CPUQuota != 150*time.Millisecond || ol.MemoryHigh != 192<<20 || ol.LowEvents != 4 || ol.HighEvents != 17 || ol.Pressure[PressureCPU].Some != 77*time.Microsecond {
		t.Errorf("older kernel: %+v", ol)
	}
}

// cgroup2 without controllers (the hybrid host's unified tree, or the booted systemd
// host): no memory.stat, no limits, cpu.stat without throttling; only pressure.
func TestReadNoControllers(t *testing.T) {
	m := &Mounts{Unified: "testdata/hybrid/unified"}
	got := m.Read(hybridPath, nil, ages, time.Now())
	if got.MemoryErr == nil {
		t.Error("no memory.stat in cgroup2 without controllers: want an error for the memory detail")
	}
	want := HaveCPUSome | HaveCPUFull | HaveMemorySome | HaveMemoryFull | HaveIOSome | HaveIOFull
	if got.Limits.Have != want {
		t.Errorf("have %b, want only pressure %b", got.Limits.Have, want)
	}
	if none := (&Mounts{}).Read(hybridPath, nil, ages, time.Now()); none.MemoryErr == nil || none.Limits.Have != 0 {
		t.Errorf("no hierarchy: %+v", none)
	}
	if gone := m.Read("/no/such/cgroup", nil, ages, time.Now()); gone.Limits.Have != 0 || gone.Limits.missing != 0 {
		t.Errorf("a cgroup that is gone: %+v", gone.Limits)
	}
}

// copyTree copies a fixture directory so a test may change its files.
func copyTree(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return to
}

// Limits are kept from the previous reading until they are Ages.Limits old, the
// counters until Ages.Counters; files found missing are tried again only with the
// limits.
func TestReadKeepsLimitsUntilMaxAge(t *testing.T) {
	root := copyTree(t, "testdata/v2")
	m := &Mounts{Unified: root}
	dir := root + v2Older
	t0 := time.Now()
	first := m.Read(v2Older, nil, ages, t0).Limits

	write(t, dir+"/cpu.max", "50000 100000\n")                                   // podman update --cpus 0.5
	write(t, dir+"/memory.events", "low 5\nhigh 18\nmax 1\noom 1\noom_kill 1\n") // a hog was killed
	write(t, dir+"/memory.peak", "1234\n")                                       // as if the kernel had it
	second := m.Read(v2Older, &first, ages, t0.Add(10*time.Second)).Limits
	if second.CPUQuota != first.CPUQuota || second.LimitsRead != first.LimitsRead {
		t.Errorf("the limit was read again before its age: %v, read %v", second.CPUQuota, second.LimitsRead)
	}
	if second.OOMKills != 1 || second.HighEvents != 18 || second.CountersRead != t0.Add(10*time.Second) {
		t.Errorf("counters not read: %+v", second)
	}
	if second.Has(HaveMemoryPeak) {
		t.Error("a file found missing was tried again before the limits")
	}
	third := m.Read(v2Older, &second, ages, t0.Add(61*time.Second)).Limits
	if third.CPUQuota != 50*time.Millisecond || !third.Has(HaveMemoryPeak) || third.MemoryPeak != 1234 {
		t.Errorf("after a minute: quota %v, peak %v (have %b)", third.CPUQuota, third.MemoryPeak, third.Have)
	}
	// A limit lifted: absent again at the next read of the limits.
	write(t, dir+"/memory.high", "max\n")
	fourth := m.Read(v2Older, &third, ages, t0.Add(122*time.Second)).Limits
	if fourth.Has(HaveMemoryHigh) {
		t.Error("memory.high went to max but is still reported")
	}
	// A clock that went back reads everything again.
	if back := m.Read(v2Older, &fourth, ages, t0); back.Limits.LimitsRead != t0 {
		t.Error("a clock gone back kept the limits")
	}

	// Counters younger than their age are kept as they were, memory.stat is read.
	slow := Ages{Limits: time.Minute, Counters: 15 * time.Second}
	t1 := t0.Add(time.Hour)
	a := m.Read(v2Older, nil, slow, t1)
	write(t, dir+"/memory.events", "low 6\nhigh 19\nmax 2\noom 2\noom_kill 2\n")
	write(t, dir+"/memory.stat", "anon 4242\nfile 1\ninactive_file 1\n")
	b := m.Read(v2Older, &a.Limits, slow, t1.Add(10*time.Second))
	if b.Limits != a.Limits || b.Memory.RSS != 4242 {
		t.Errorf("within the counters' age: limits %+v (want %+v), rss %d", b.Limits, a.Limits, b.Memory.RSS)
	}
	if c := m.Read(v2Older, &b.Limits, slow, t1.Add(20*time.Second)).Limits; c.OOMKills != 2 || c.LimitsRead != t1 {
		t.Errorf("past the counters' age: oom kills %d, limits read %v", c.OOMKills, c.LimitsRead)
	}
}

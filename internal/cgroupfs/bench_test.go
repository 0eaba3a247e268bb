package cgroupfs

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The stats round's cgroup reading, per container, on this host's real containers (the
// kernel's cost of generating the files is most of it): before (memory.stat alone, as
// read until limits were added), and after (memory.stat and the limits, counters and
// pressure) at the daemon's defaults, a round every 10 s and the limits read again
// every minute, with the counter files kept open and without. Needs running
// containers; make bench has the memory benchmark's.

// containerCgroups finds the cgroup paths of the running containers Podman made.
func containerCgroups(b *testing.B, m *Mounts) []string {
	b.Helper()
	dir, _ := m.dir("memory")
	var paths []string
	for _, pattern := range []string{"libpod_parent/libpod-*", "machine.slice/libpod-*.scope"} {
		found, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, p := range found {
			if procs, err := os.ReadFile(p + "/cgroup.procs"); err == nil && len(procs) > 0 {
				paths = append(paths, strings.TrimPrefix(p, dir))
			}
		}
	}
	if len(paths) == 0 {
		b.Skip("no running Podman container to read the cgroup of")
	}
	return paths
}

func hostMounts(b *testing.B) *Mounts {
	b.Helper()
	m, err := ReadMounts("/proc/self/mountinfo")
	if err != nil {
		b.Skip(err)
	}
	return &m
}

// readMemoryBefore is the stats round's reading before Read: memory.stat alone, with
// os.ReadFile and a map of keys.
func readMemoryBefore(m *Mounts, path string) (Memory, error) {
	var mem Memory
	var dir string
	var keys map[string]*uint64
	if mnt, ok := m.V1["memory"]; ok {
		dir = mnt
		keys = map[string]*uint64{"total_rss": &mem.RSS, "total_cache": &mem.Cache, "total_inactive_file": &mem.InactiveFile}
	} else {
		dir = m.Unified
		keys = map[string]*uint64{"anon": &mem.RSS, "file": &mem.Cache, "inactive_file": &mem.InactiveFile}
	}
	data, err := os.ReadFile(dir + "/" + strings.TrimPrefix(path, "/") + "/memory.stat")
	if err != nil {
		return mem, err
	}
	for line := range bytes.Lines(data) {
		k, v, ok := bytes.Cut(bytes.TrimRight(line, "\n"), []byte(" "))
		if p, want := keys[string(k)]; ok && want {
			*p, _ = strconv.ParseUint(string(v), 10, 64)
		}
	}
	return mem, nil
}

func BenchmarkStatsRoundCgroupsBaseline(b *testing.B) {
	m := hostMounts(b)
	paths := containerCgroups(b, m)
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		for _, p := range paths {
			_, _ = readMemoryBefore(m, p) // a container removed meanwhile costs a failed open
		}
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*len(paths)), "cpu-ns/container")
}

// processCPU is this process's user and system time: the reading is system calls,
// whose cost wall time on a shared VM hides in noise.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRead reads every container's cgroup once a round, a round every interval of
// simulated time, as the engine does with ages.
// With keep, through Files, as the engine reads.
func benchRead(b *testing.B, interval time.Duration, ages Ages, keep bool) {
	m := hostMounts(b)
	paths := containerCgroups(b, m)
	prev := make([]*Limits, len(paths))
	files := make([]Files, len(paths))
	defer func() {
		for i := range files {
			files[i].Close()
		}
	}()
	now := time.Now()
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		now = now.Add(interval)
		for i, p := range paths {
			var f *Files
			if keep {
				f = &files[i]
			}
			r := m.ReadWith(f, p, prev[i], ages, now)
			prev[i] = &r.Limits
		}
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*len(paths)), "cpu-ns/container")
}

// BenchmarkStatsRoundCgroups is the daemon's default: a round every 10 s, the counters
// every second round, the limits every minute, the counter files kept open.
func BenchmarkStatsRoundCgroups(b *testing.B) {
	benchRead(b, 10*time.Second, AgesFor(10*time.Second, time.Minute), true)
}

// BenchmarkStatsRoundCgroupsOpening is the same, opening and closing every file.
func BenchmarkStatsRoundCgroupsOpening(b *testing.B) {
	benchRead(b, 10*time.Second, AgesFor(10*time.Second, time.Minute), false)
}

// BenchmarkStatsRoundCgroupsEveryFile reads every file every round.
func BenchmarkStatsRoundCgroupsEveryFile(b *testing.B) { benchRead(b, 10*time.Second, Ages{}, true) }

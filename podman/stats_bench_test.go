package podman

import (
	"context"
	"io"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/cgroupfs"
)

// processCPU is this process's user and system time: a stats round's cost is mostly
// system calls (the API's socket, cgroup and proc files), which wall time on a shared
// VM hides in noise.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStatsRound is whole stats rounds, as the engine makes them every
// --podman.stats-interval (10 s by default, simulated by ageing the cgroup readings
// between rounds), against the rootful Podman service and its running containers: the
// stats call, the cgroup files and /proc/PID/net/dev. It reports the process's CPU
// time per container and round. Needs root, the service and running containers.
func BenchmarkStatsRound(b *testing.B) {
	const uri = "unix:///run/podman/podman.sock"
	if _, err := os.Stat("/run/podman/podman.sock"); err != nil {
		b.Skip("no rootful Podman service")
	}
	m, err := cgroupfs.ReadMounts("/proc/self/mountinfo")
	if err != nil {
		b.Skip(err)
	}
	e := New(Options{URI: uri, StatsInterval: 10 * time.Second, SlowInterval: time.Minute, Cgroups: &m,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	api, err := DialBindings(context.Background(), uri, func(string) {})
	if err != nil {
		b.Skip(err)
	}
	if err := e.relist(api); err != nil {
		b.Fatal(err)
	}
	running := 0
	for _, c := range e.containers {
		if c.State == "running" {
			running++
		}
	}
	if running == 0 {
		b.Skip("no running container")
	}
	// No container was read since the last round: this closes every file kept open.
	defer e.open.endRound()
	cpu := processCPU()
	for b.Loop() {
		if err := e.refreshStats(api); err != nil {
			b.Fatal(err)
		}
		// Rounds run back to back: age the readings as the 10 s between rounds would.
		for _, c := range e.containers {
			if c.Stats != nil && c.Stats.Limits != nil {
				l := c.Stats.Limits
				l.LimitsRead, l.CountersRead = l.LimitsRead.Add(-10*time.Second), l.CountersRead.Add(-10*time.Second)
			}
		}
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*running)/1e3, "cpu-µs/container")
	b.ReportMetric(float64(running), "containers")
}

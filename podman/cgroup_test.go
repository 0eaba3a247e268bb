package podman

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/containers/podman/v5/libpod/define"

	"github.com/podexporter/podexporter/internal/cgroupfs"
)

// The cgroup fixture of internal/cgroupfs (written in cgroup v2's format), copied so
// the test may change it.
const fixtureCgroup = "/machine.slice/libpod-4330708cc7fd64bc2451fee12d57db673905a3c962add6b3291f39bf9a1d2be9.scope"

func copyCgroupFixture(t *testing.T) string {
	t.Helper()
	from := filepath.Join("..", "internal", "cgroupfs", "testdata", "v2", fixtureCgroup)
	to := filepath.Join(t.TempDir(), fixtureCgroup)
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Dir(filepath.Dir(to))
}

// A stats round completes each container's stats with its cgroup's limits, counters
// and pressure, and hands the previous reading on, so that counters are read every
// second round and limits every slow interval.
func TestStatsRoundReadsCgroup(t *testing.T) {
	root := copyCgroupFixture(t)
	for _, tc := range []struct {
		name          string
		stats         time.Duration
		countersAgain bool
	}{
		{"within the counters' age", time.Hour, false},
		{"past it", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write := func(name, content string) {
				if err := os.WriteFile(filepath.Join(root, fixtureCgroup, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("memory.events", "low 0\nhigh 0\nmax 338\noom 1\noom_kill 1\n")
			e := New(Options{StatsInterval: tc.stats, SlowInterval: time.Hour, Cgroups: &cgroupfs.Mounts{Unified: root}})
			c := &Container{ID: id(1), State: "running", CgroupPath: fixtureCgroup, NetworkMode: "host"}
			e.containers[c.ID] = c
			e.applyStats([]define.ContainerStats{{ContainerID: c.ID, MemUsage: 27242496}})
			first := c.Stats
			if first.Limits == nil || first.Memory == nil {
				t.Fatalf("no cgroup reading: %+v", first)
			}
			l := first.Limits
			if !l.Has(cgroupfs.HaveCPULimit|cgroupfs.HaveThrottling|cgroupfs.HaveOOMKills|cgroupfs.HaveMemoryFull) || l.OOMKills != 1 || l.CPUQuota != 20*time.Millisecond {
				t.Errorf("limits: %+v", l)
			}
			// memory.stat's inactive_file 122880 off the API's usage.
			if first.Memory.WorkingSet != 27242496-122880 || first.Memory.RSS != 26226688 {
				t.Errorf("memory detail: %+v", first.Memory)
			}

			write("memory.events", "low 0\nhigh 0\nmax 340\noom 2\noom_kill 2\n")
			e.applyStats([]define.ContainerStats{{ContainerID: c.ID, MemUsage: 27242496}})
			second := c.Stats.Limits
			if got := second.OOMKills == 2; got != tc.countersAgain {
				t.Errorf("oom kills %d after the file said 2: read again %v, want %v", second.OOMKills, got, tc.countersAgain)
			}
			if second.LimitsRead != l.LimitsRead {
				t.Error("the limits were read again within the slow interval")
			}
			if second == l {
				t.Error("the round changed the published reading instead of making its own")
			}
		})
	}
}

// The files a stats round reads every round stay open while the container is read,
// and are closed at the first round that does not read it (stopped, removed, left
// out). Its /proc/PID/net/dev is opened again at a new PID, and when its cgroup was
// renewed (a restart: the old namespace stays readable through an open file).
func TestStatsRoundKeepsFilesOpen(t *testing.T) {
	root := copyCgroupFixture(t)
	proc := t.TempDir()
	netdev := func(pid, rx int) {
		dir := filepath.Join(proc, strconv.Itoa(pid), "net")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf("Inter-| Receive | Transmit\n face |bytes packets|bytes packets\n  eth0: %d 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n", rx)
		if err := os.WriteFile(filepath.Join(dir, "dev"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	netdev(100, 1000)
	netdev(200, 2000)
	e := New(Options{StatsInterval: 10 * time.Second, SlowInterval: time.Hour, Cgroups: &cgroupfs.Mounts{Unified: root}, ProcRoot: proc})
	c := &Container{ID: id(1), State: "running", CgroupPath: fixtureCgroup, Pid: 100}
	e.containers[c.ID] = c
	round := []define.ContainerStats{{ContainerID: c.ID, MemUsage: 1}}
	base := cgroupfs.KeptOpen()

	e.applyStats(round)
	o := e.open.byID[c.ID]
	// memory.stat, the cgroup's directory (cgroup v2: one for every file), net/dev.
	if o == nil || cgroupfs.KeptOpen()-base != 3 {
		t.Fatalf("%d files kept open after the first round, want 3", cgroupfs.KeptOpen()-base)
	}
	if n := c.Stats.Network; n == nil || n.RxBytes != 1000 {
		t.Fatalf("network %+v", n)
	}
	netdev(100, 1500)
	e.applyStats(round)
	if n := c.Stats.Network; n == nil || n.RxBytes != 1500 || cgroupfs.KeptOpen()-base != 3 {
		t.Errorf("second round: network %+v, %d kept", n, cgroupfs.KeptOpen()-base)
	}

	// A restart: a new PID, read at its own path.
	c.Pid = 200
	e.applyStats(round)
	if n := c.Stats.Network; n == nil || n.RxBytes != 2000 || cgroupfs.KeptOpen()-base != 3 {
		t.Errorf("after a new PID: network %+v, %d kept", n, cgroupfs.KeptOpen()-base)
	}

	// The container is not read: its files are closed.
	e.applyStats(nil)
	if len(e.open.byID) != 0 || cgroupfs.KeptOpen() != base {
		t.Errorf("after a round without it: %d containers, %d files kept", len(e.open.byID), cgroupfs.KeptOpen()-base)
	}
}

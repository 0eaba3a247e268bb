package collectors

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/internal/cgroupfs"
)

// The limits group on one snapshot, from the cgroup fixtures of internal/cgroupfs: a
// container on a hybrid host (captured from a real one, every v1 file there), one in
// cgroup2 without controllers (pressure only), and one whose cgroup could not be read.
func TestLimitSeries(t *testing.T) {
	const path = "/libpod_parent/libpod-4330708cc7fd64bc2451fee12d57db673905a3c962add6b3291f39bf9a1d2be9"
	root := filepath.Join("..", "internal", "cgroupfs", "testdata", "hybrid")
	hybrid := &cgroupfs.Mounts{Unified: filepath.Join(root, "unified"), V1: map[string]string{}}
	for _, c := range []string{"cpu", "cpuset", "memory", "pids"} {
		hybrid.V1[c] = filepath.Join(root, c)
	}
	noControllers := &cgroupfs.Mounts{Unified: filepath.Join(root, "unified")}
	full := hybrid.Read(path, nil, cgroupfs.Ages{}, time.Now()).Limits
	pressureOnly := noControllers.Read(path, nil, cgroupfs.Ages{}, time.Now()).Limits

	snap := syntheticSnapshot(3)
	snap.Containers[0].Stats.Limits = &full
	snap.Containers[1].Stats.Limits = &pressureOnly
	snap.Containers[2].Stats.Limits = nil
	values := containerValues(t, snap)
	absent := math.NaN()
	for _, tc := range []struct {
		family string
		i      int
		want   float64
	}{
		{"podman_container_cpu_limit_cores", 0, 0.2},
		{"podman_container_cpuset_cpus", 0, 1},
		{"podman_container_cpu_periods_total", 0, 65},
		{"podman_container_cpu_throttled_periods_total", 0, 63},
		{"podman_container_cpu_throttled_seconds_total", 0, 4.660283893},
		{"podman_container_memory_max_bytes", 0, 32 << 20},
		{"podman_container_memory_high_bytes", 0, absent}, // v1 has none
		{"podman_container_memory_peak_bytes", 0, 32 << 20},
		{"podman_container_memory_swap_usage_bytes", 0, 0},
		{"podman_container_memory_swap_max_bytes", 0, 64 << 20},
		{"podman_container_pids_limit", 0, 64},
		{"podman_container_memory_max_events_total", 0, 338},
		{"podman_container_memory_oom_kill_events_total", 0, 1},
		{"podman_container_memory_oom_events_total", 0, absent},
		{"podman_container_pressure_cpu_waiting_seconds_total", 0, 5.667632},
		{"podman_container_pressure_io_stalled_seconds_total", 0, 0.000812},
		{"podman_container_pressure_cpu_stalled_seconds_total", 1, 5.267508},
		{"podman_container_cpu_periods_total", 1, absent},
		{"podman_container_memory_max_bytes", 1, absent},
		{"podman_container_pressure_memory_waiting_seconds_total", 2, absent},
		{"podman_container_cpu_limit_cores", 2, absent},
	} {
		got, ok := values[tc.family][snap.Containers[tc.i].ID[:12]]
		if !ok {
			got = absent
		}
		if math.Abs(got-tc.want) > 1e-9 && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("container %d: %s = %v, want %v (NaN: absent)", tc.i, tc.family, got, tc.want)
		}
	}
}

// Every family of the limits group is sent by emitLimits, once.
func TestLimitFamiliesCoverTheGroup(t *testing.T) {
	sent := map[*catalog.Metric]int{}
	for _, f := range limitFamilies {
		sent[f.m]++
	}
	for _, m := range catalog.All() {
		if m.Group == catalog.ContainerCPULimit.Group && sent[m] != 1 {
			t.Errorf("%s is sent %d times", m.Name, sent[m])
		}
	}
}

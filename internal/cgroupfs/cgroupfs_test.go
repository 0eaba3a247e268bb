package cgroupfs

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadMounts(t *testing.T) {
	dir := t.TempDir()
	hybrid := filepath.Join(dir, "hybrid")
	write(t, hybrid, "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"+
		"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"+
		"32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"+
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n")
	m, err := ReadMounts(hybrid)
	if err != nil {
		t.Fatal(err)
	}
	if m.Unified != "/sys/fs/cgroup/unified" || m.V1["memory"] != "/sys/fs/cgroup/memory" || m.V1["cpuacct"] != "/sys/fs/cgroup/cpu,cpuacct" {
		t.Fatalf("hybrid: %+v", m)
	}
	none := filepath.Join(dir, "none")
	write(t, none, "22 1 0:21 / /proc rw - proc proc rw\n")
	if _, err := ReadMounts(none); err == nil {
		t.Fatal("no cgroup mount: want an error")
	}
}

// memory.stat names the same quantities differently on v1 and v2; both must map alike.
func TestReadMemory(t *testing.T) {
	dir := t.TempDir()
	v1 := Mounts{V1: map[string]string{"memory": filepath.Join(dir, "v1")}}
	write(t, filepath.Join(dir, "v1/libpod_parent/libpod-x/memory.stat"), "cache 1\nrss 2\ntotal_cache 100\ntotal_rss 200\ntotal_inactive_file 30\n")
	v2 := Mounts{Unified: filepath.Join(dir, "v2")}
	write(t, filepath.Join(dir, "v2/machine.slice/libpod-x.scope/memory.stat"), "anon 200\nfile 100\ninactive_file 30\n")
	for name, c := range map[string]struct {
		m    Mounts
		path string
	}{"v1": {v1, "/libpod_parent/libpod-x"}, "v2": {v2, "/machine.slice/libpod-x.scope"}} {
		r := c.m.Read(c.path, nil, Ages{}, time.Now())
		got, err := r.Memory, r.MemoryErr
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != (Memory{RSS: 200, Cache: 100, InactiveFile: 30}) {
			t.Errorf("%s: %+v", name, got)
		}
	}
	if (&Mounts{}).Read("/x", nil, Ages{}, time.Now()).MemoryErr == nil {
		t.Error("no hierarchy: want an error")
	}
}

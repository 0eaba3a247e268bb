package bpf

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The resolver on the layouts Podman creates: cgroupfs, systemd (rootful, pod, rootless)
// and a container's own sub-cgroups. Ids are directory inodes, as in cgroup2.
func TestResolverLayouts(t *testing.T) {
	a, b, c, d := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64), strings.Repeat("d", 64)
	root := t.TempDir()
	want := map[string]string{
		"libpod_parent/libpod-" + a:                                                      a,
		"libpod_parent/libpod-" + a + "/sub":                                             a, // folded into its container
		"machine.slice/libpod-" + b + ".scope":                                           b,
		"machine.slice/libpod-" + b + ".scope/container":                                 b,
		"machine.slice/libpod-conmon-" + b + ".scope":                                    "", // conmon is not the container
		"machine.slice/machine-libpod_pod_x.slice/libpod-" + c + ".scope":                c,
		"user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + d + ".scope": d,
		"system.slice/sshd.service":                                                      "",
	}
	for dir := range want {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := NewResolver(root)
	for dir, ctr := range want {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(root, dir), &st); err != nil {
			t.Fatal(err)
		}
		got, ok := r.Lookup(st.Ino) // the first lookup walks
		if !ok || got != ctr {
			t.Errorf("%s: container %q, %v; want %q", dir, got, ok, ctr)
		}
	}
	if id, ok := r.ContainerCgroup(b); !ok || id == 0 {
		t.Errorf("no cgroup for container %s", b[:12])
	}
	if _, ok := r.Lookup(1 << 62); ok {
		t.Error("an id that is nowhere in the tree was found")
	}
}

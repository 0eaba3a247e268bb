package bpf

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCgroup2Mount(t *testing.T) {
	tests := []struct {
		name, mountinfo, want string
		wantErr               bool
	}{
		{"unified host", "29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n", "/sys/fs/cgroup", false},
		{"hybrid host", "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n", "/sys/fs/cgroup/unified", false},
		{"optional fields before the separator", "41 31 0:38 / /sys/fs/cgroup rw shared:9 master:1 - cgroup2 cgroup2 rw\n", "/sys/fs/cgroup", false},
		{"escaped space", `41 31 0:38 / /mnt/cg\0402 rw - cgroup2 none rw` + "\n", "/mnt/cg 2", false},
		{"v1 only", "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "mountinfo")
			if err := os.WriteFile(p, []byte(tc.mountinfo), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := cgroup2Mount(p)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("cgroup2Mount = %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

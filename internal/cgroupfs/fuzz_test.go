package cgroupfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadMounts: any mountinfo text is read without panic, and whatever is returned is
// an absolute path without NUL whose first character appeared in it (octal escapes
// such as \000 unescape to characters that did not).
func FuzzReadMounts(f *testing.F) {
	f.Add("41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n")
	f.Add("35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n")
	f.Add(`41 31 0:38 / /mnt/cg\0402 rw - cgroup2 none rw` + "\n")
	f.Add(" - \n - - -\n")
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(t.TempDir(), "mountinfo")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := ReadMounts(p)
		if err != nil {
			return
		}
		for _, mnt := range append([]string{m.Unified}, mapValues(m.V1)...) {
			if mnt != "" && (!strings.HasPrefix(mnt, "/") || strings.IndexByte(mnt, 0) >= 0) {
				t.Fatalf("mount point %q is not an absolute path", mnt)
			}
			if mnt != "" && !strings.Contains(content, strings.Split(mnt, " ")[0][:min(1, len(mnt))]) {
				t.Fatalf("mount point %q not from the input", mnt)
			}
		}
	})
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

package cgroupfs

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
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

// FuzzKeyed: any flat keyed file is walked without panic, and every key handed on is
// one whole word of a line of the input.
func FuzzKeyed(f *testing.F) {
	f.Add([]byte("nr_periods 65\nnr_throttled 63\nthrottled_time 4660283893\n"))
	f.Add([]byte("oom_kill_disable 0\nunder_oom 0\noom_kill 1"))
	f.Add([]byte("low 0\nhigh 18446744073709551615\nmax 18446744073709551616\n  \n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keyed(data, func(k []byte, v uint64) {
			if bytes.ContainsAny(k, " \n") {
				t.Fatalf("key %q holds a separator", k)
			}
			// The value's first digit, unless written with leading zeros.
			if !bytes.Contains(data, []byte(string(k)+" "+strconv.FormatUint(v, 10)[:1])) && !bytes.Contains(data, []byte(string(k)+" 0")) {
				t.Fatalf("key %q value %d not in the input", k, v)
			}
		})
	})
}

// FuzzParseLimit: a limit is either none or a number below the v1 "unlimited" mark.
func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"max\n", "-1\n", "33554432\n", "9223372036854771712\n", "", "01", "18446744073709551616"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, limited, err := parseLimit(data)
		if err != nil && limited {
			t.Fatal("an error with a limit")
		}
		if limited && v >= unlimitedV1 {
			t.Fatalf("%d reported as a limit", v)
		}
		if !limited && v != 0 {
			t.Fatalf("no limit but value %d", v)
		}
	})
}

// FuzzParseCPUMax: a CPU limit always comes with a period to divide by.
func FuzzParseCPUMax(f *testing.F) {
	for _, s := range []string{"max 100000\n", "20000 100000\n", "20000 0", "max", " ", "1 2 3"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		quota, period, limited, err := parseCPUMax(data)
		if err == nil && period == 0 {
			t.Fatal("no error and period 0")
		}
		if !limited && quota != 0 {
			t.Fatalf("no limit but quota %d", quota)
		}
	})
}

// FuzzParseCPUList: a count between 0 and maxCPUs, whatever the list.
func FuzzParseCPUList(f *testing.F) {
	for _, s := range []string{"0-3,8,10-11\n", "0\n", "\n", "3-1", "0-18446744073709551615", ",,", "0-65535,0-65535"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := parseCPUList(data)
		if n < 0 || n > maxCPUs || (err != nil && n != 0) {
			t.Fatalf("%d CPUs (%v)", n, err)
		}
		if err == nil && !bytes.ContainsAny(data, ",-") && n > 1 {
			t.Fatalf("%d CPUs from a list of one", n)
		}
	})
}

// FuzzParsePressure: a line is taken only when it says what it is.
func FuzzParsePressure(f *testing.F) {
	f.Add([]byte("some avg10=38.20 avg60=8.06 avg300=1.73 total=5667632\nfull avg10=35.40 avg60=7.44 avg300=1.59 total=5267508\n"))
	f.Add([]byte("some avg10=0.00 avg60=0.00 avg300=0.00 total=77\n"))
	f.Add([]byte("full total=x\nsome total=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		some, full, hasSome, hasFull := parsePressure(data)
		if hasSome && !bytes.Contains(data, []byte("some ")) || hasFull && !bytes.Contains(data, []byte("full ")) {
			t.Fatalf("a total without its line: %q", data)
		}
		if !hasSome && some != 0 || !hasFull && full != 0 {
			t.Fatal("a value without its line")
		}
	})
}

// FuzzRead: any content in every file of a cgroup, v1 or v2, is read without panic and
// gives only values that make sense, the same with the counter files kept open.
func FuzzRead(f *testing.F) {
	f.Add([]byte("20000 100000\n"), true)
	f.Add([]byte("some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n"), false)
	f.Add([]byte("max\n"), false)
	f.Add([]byte("nr_periods 1\nhierarchical_memory_limit 5\nhierarchical_memsw_limit 3\n"), true)
	names := []string{"cpu.max", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.stat", "cpuset.cpus.effective", "cpuset.effective_cpus",
		"memory.stat", "memory.max", "memory.high", "memory.swap.max", "memory.peak", "memory.swap.current", "memory.events",
		"memory.max_usage_in_bytes", "memory.failcnt", "memory.oom_control", "pids.max", "cpu.pressure", "memory.pressure", "io.pressure"}
	f.Fuzz(func(t *testing.T, content []byte, v1 bool) {
		root := t.TempDir()
		m := &Mounts{Unified: root}
		if v1 {
			m.V1 = map[string]string{"cpu": root, "cpuset": root, "memory": root, "pids": root}
		}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(root, "c", n), content, 0o644); err != nil {
				if err := os.MkdirAll(filepath.Join(root, "c"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, "c", n), content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		now := time.Now()
		l := m.Read("/c", nil, Ages{}, now).Limits
		// Through Files, which keeps the counter files open, the same values.
		var files Files
		if kept := m.ReadWith(&files, "/c", nil, Ages{}, now).Limits; kept != l {
			t.Fatalf("through Files %+v, without %+v", kept, l)
		}
		files.Close()
		if l.Has(HaveCPULimit) && (l.CPUPeriod <= 0 || l.CPUQuota < 0) {
			t.Fatalf("CPU limit %v per %v", l.CPUQuota, l.CPUPeriod)
		}
		if l.Has(HaveCPUs) && (l.CPUs <= 0 || l.CPUs > maxCPUs) {
			t.Fatalf("%d CPUs", l.CPUs)
		}
		if l.Has(HaveMemoryMax) && l.MemoryMax >= unlimitedV1 || l.Has(HaveSwapMax) && l.SwapMax >= unlimitedV1 {
			t.Fatalf("an unlimited value as a limit: %+v", l)
		}
		if l.ThrottledTime < 0 || l.Pressure[0].Some < 0 {
			t.Fatalf("negative time: %+v", l)
		}
	})
}

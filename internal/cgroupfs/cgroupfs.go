// Package cgroupfs finds the cgroup hierarchies of this host (cgroup2, and the v1
// controllers of hybrid hosts) and reads the few files podexporter needs from them.
package cgroupfs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Mounts says where each hierarchy is mounted.
type Mounts struct {
	// Unified is the cgroup2 mount; on hybrid hosts it is /sys/fs/cgroup/unified.
	Unified string
	// V1 maps a v1 controller (memory, cpu, ...) to its mount point.
	V1 map[string]string
}

// ReadMounts parses a mountinfo file, normally /proc/self/mountinfo.
func ReadMounts(mountinfo string) (Mounts, error) {
	m := Mounts{V1: map[string]string{}}
	f, err := os.Open(mountinfo)
	if err != nil {
		return m, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, fs := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(fs) < 3 {
			continue
		}
		point := unescape(fields[4])
		// The kernel writes absolute paths without NUL; anything else is not a mount
		// point that could be opened.
		if !strings.HasPrefix(point, "/") || strings.IndexByte(point, 0) >= 0 {
			continue
		}
		switch fs[0] {
		case "cgroup2":
			if m.Unified == "" {
				m.Unified = point
			}
		case "cgroup":
			for _, opt := range strings.Split(fs[2], ",") {
				switch opt {
				case "memory", "cpu", "cpuacct", "cpuset", "pids", "blkio":
					m.V1[opt] = point
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("read %s: %w", mountinfo, err)
	}
	if m.Unified == "" && len(m.V1) == 0 {
		return m, errors.New("no cgroup hierarchy in " + mountinfo)
	}
	return m, nil
}

// unescape undoes the octal escapes (\040 for space) mountinfo uses.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Memory is a container's memory beyond the usage and limit the Podman API gives.
type Memory struct {
	RSS          uint64
	Cache        uint64
	InactiveFile uint64
}

// v1Memory is what v1's memory.stat has beyond Memory: the limits (hierarchical_*, the
// cgroup's own or an ancestor's where lower) and the swap in use, present only with
// swap accounting.
type v1Memory struct {
	limit, memsw, swap uint64
	haveSwap           bool
}

// parseMemoryStat reads memory.stat; v1 and v2 name the same quantities differently.
func parseMemoryStat(data []byte, v1 bool) (Memory, v1Memory) {
	var mem Memory
	var x v1Memory
	keyed(data, func(k []byte, v uint64) {
		if v1 {
			switch string(k) {
			case "total_rss":
				mem.RSS = v
			case "total_cache":
				mem.Cache = v
			case "total_inactive_file":
				mem.InactiveFile = v
			case "hierarchical_memory_limit":
				x.limit = v
			case "hierarchical_memsw_limit":
				x.memsw = v
			case "total_swap":
				x.swap, x.haveSwap = v, true
			}
			return
		}
		switch string(k) {
		case "anon":
			mem.RSS = v
		case "file":
			mem.Cache = v
		case "inactive_file":
			mem.InactiveFile = v
		}
	})
	return mem, x
}

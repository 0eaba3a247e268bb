// Package memtrim gives back the pages of podexporter's own executable that only
// start-up used.
//
// A Go binary's package initialisers are spread over its whole text, and the kernel
// maps 64 KB around every page fault (fault-around) when the file is in the page
// cache. After start-up nearly all of the 31 MB binary is therefore mapped and counted
// in the process's resident set, although the steady state (scrapes, Podman rounds,
// journal reading) runs about half of it. Unmapping the read-only segments once
// (MADV_DONTNEED on a private file mapping) leaves the page cache as it was and lets
// the pages still used fault back in from it, as minor faults; RSS then shows what
// the daemon uses. The pages stay in the page cache, charged to whoever read them
// first and reclaimable like any cache, so this changes what the process holds, not
// what the file costs on disk or in cache.
package memtrim

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Segment is one mapping of the executable that was trimmed.
type Segment struct {
	Start, End uintptr
	// Resident is how much of it was resident before, in bytes.
	Resident int64
}

// Executable unmaps the read-only, never-written mappings of the running executable
// and returns them. Writable mappings, and read-only ones holding anonymous pages
// (RELRO: the dynamic linker wrote relocations there before protecting it), are left
// alone: their contents are not the file's.
func Executable() ([]Segment, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return nil, fmt.Errorf("read own memory maps: %w", err)
	}
	segs := Trimmable(smaps, exe)
	for _, s := range segs {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, s.Start, s.End-s.Start, syscall.MADV_DONTNEED); errno != 0 {
			return nil, fmt.Errorf("madvise %x-%x of %s: %w", s.Start, s.End, exe, errno)
		}
	}
	return segs, nil
}

// Files unmaps the read-only mappings of files whose path match accepts, shared or
// private, as long as they hold no anonymous pages, and returns how many bytes of them
// were resident. It is for files another library maps and reads through (libsystemd's
// journal files), whose pages stay mapped, and counted, long after they were read.
func Files(match func(path string) bool) (int64, error) {
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("read own memory maps: %w", err)
	}
	var resident int64
	for _, s := range parse(smaps, match, true) {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, s.Start, s.End-s.Start, syscall.MADV_DONTNEED); errno != 0 {
			return resident, fmt.Errorf("madvise %x-%x: %w", s.Start, s.End, errno)
		}
		resident += s.Resident
	}
	return resident, nil
}

// Trimmable parses /proc/<pid>/smaps and returns the mappings of path that may be
// dropped: not writable, private, and without anonymous (copied-on-write) pages.
func Trimmable(smaps []byte, path string) []Segment {
	return parse(smaps, func(p string) bool { return p == path }, false)
}

// parse lists the read-only mappings of the files match accepts that hold no
// anonymous pages; shared ones only when shared is set.
func parse(smaps []byte, match func(path string) bool, shared bool) []Segment {
	var out []Segment
	var cur *Segment
	ok := false
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if !strings.HasSuffix(f[0], ":") { // a mapping's header line
			if cur != nil && ok {
				out = append(out, *cur)
			}
			cur, ok = nil, false
			if len(f) < 6 || !match(strings.Join(f[5:], " ")) {
				continue
			}
			lo, hi, found := strings.Cut(f[0], "-")
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			perms := f[1]
			if !found || err1 != nil || err2 != nil || len(perms) != 4 || perms[1] == 'w' || (perms[3] != 'p' && !(shared && perms[3] == 's')) {
				continue
			}
			cur, ok = &Segment{Start: uintptr(start), End: uintptr(end)}, true
			continue
		}
		if cur == nil || len(f) < 2 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "Rss:":
			cur.Resident = n << 10
		case "Anonymous:":
			ok = ok && n == 0
		}
	}
	if cur != nil && ok {
		out = append(out, *cur)
	}
	return out
}

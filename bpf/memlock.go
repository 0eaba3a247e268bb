package bpf

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

// rlimitMemlock is RLIMIT_MEMLOCK on Linux, which package syscall does not name.
const rlimitMemlock = 8

// liftMemlock lifts RLIMIT_MEMLOCK on kernels before 5.11, which charge BPF memory to
// it; later kernels charge the memory cgroup, and it does nothing.
//
// It stands in for cilium/ebpf's rlimit package, whose init creates a BPF map (and
// lowers the memlock limit) in every process that links it: podexporter would call
// bpf(2) at every start even with eBPF off, which the native unit's SystemCallFilter
// denies. make systemd-e2e's run with denied syscalls made fatal caught that.
func liftMemlock() error {
	if kernelAtLeast(release(), 5, 11) {
		return nil
	}
	inf := ^uint64(0)
	if err := syscall.Setrlimit(rlimitMemlock, &syscall.Rlimit{Cur: inf, Max: inf}); err != nil {
		return fmt.Errorf("setrlimit RLIMIT_MEMLOCK: %w", err)
	}
	return nil
}

// release is the running kernel's release string, such as "6.1.0-18-amd64".
func release() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return ""
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return b.String()
}

// kernelAtLeast compares a release string's major.minor with major.minor; a release
// it cannot read counts as older, so that the limit is lifted when in doubt.
func kernelAtLeast(rel string, major, minor int) bool {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return false
	}
	maj, err1 := strconv.Atoi(parts[0])
	minStr := parts[1]
	if i := strings.IndexFunc(minStr, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minStr = minStr[:i]
	}
	mnr, err2 := strconv.Atoi(minStr)
	if err1 != nil || err2 != nil {
		return false
	}
	return maj > major || (maj == major && mnr >= minor)
}

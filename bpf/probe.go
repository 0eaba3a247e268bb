// Package bpf holds the optional eBPF per-container network counters: the C programs,
// their committed bpf2go output, a small loader and the cgroup-id resolver. This file
// answers whether eBPF can work here at all, for `podexporter doctor` and for a clear
// message when the counters are turned on.
package bpf

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"

	"github.com/podexporter/podexporter/internal/cgroupfs"
)

// Capability bits from linux/capability.h.
const (
	capNetAdmin = 12
	capSysAdmin = 21
	capBPF      = 39
)

// Support is the verdict of Probe.
type Support struct {
	// OK means a cgroup_skb program loads and a cgroup2 hierarchy exists to attach to.
	OK bool
	// Cgroup2 is the cgroup2 mount point, empty when there is none.
	Cgroup2 string
	// Problems says what is missing and how to get it, one entry each.
	Problems []string
}

func (s Support) String() string {
	if s.OK {
		return "cgroup_skb programs load; cgroup2 at " + s.Cgroup2
	}
	return strings.Join(s.Problems, "; ")
}

// Probe checks capabilities, cgroup2 and whether the kernel accepts a cgroup_skb
// program, by loading a minimal one.
func Probe() Support {
	var s Support
	s.Problems = capabilityProblems()
	var err error
	s.Cgroup2, err = cgroup2Mount("/proc/self/mountinfo")
	if err != nil {
		s.Problems = append(s.Problems, "no cgroup2 hierarchy: "+err.Error()+" (mount one: mount -t cgroup2 none /sys/fs/cgroup)")
	}
	if err := liftMemlock(); err != nil {
		s.Problems = append(s.Problems, "cannot lift RLIMIT_MEMLOCK: "+err.Error()+" (set LimitMEMLOCK=infinity)")
	}
	switch err := features.HaveProgramType(ebpf.CGroupSKB); {
	case err == nil:
	case errors.Is(err, ebpf.ErrNotSupported):
		s.Problems = append(s.Problems, "the kernel does not support cgroup_skb programs (CONFIG_CGROUP_BPF)")
	default:
		s.Problems = append(s.Problems, "loading a cgroup_skb program failed: "+err.Error())
	}
	s.OK = len(s.Problems) == 0
	return s
}

// capabilityProblems names each capability the counters need and this process lacks.
func capabilityProblems() []string {
	caps, err := effectiveCaps()
	if err != nil {
		return []string{"cannot read capabilities: " + err.Error()}
	}
	var problems []string
	has := func(bit uint) bool { return caps&(1<<bit) != 0 }
	if !has(capBPF) && !has(capSysAdmin) {
		problems = append(problems, "CAP_BPF is missing (add AddCapability=CAP_BPF CAP_NET_ADMIN to the Quadlet unit, or run as root)")
	}
	if !has(capNetAdmin) && !has(capSysAdmin) {
		problems = append(problems, "CAP_NET_ADMIN is missing (needed to attach to the cgroup2 root)")
	}
	return problems
}

func effectiveCaps() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("no CapEff line in /proc/self/status")
}

// cgroup2Mount finds the cgroup2 mount in a mountinfo file. On hybrid hosts (v1
// controllers plus cgroup2 at /sys/fs/cgroup/unified, as on the test VMs) it is not
// at /sys/fs/cgroup.
func cgroup2Mount(mountinfo string) (string, error) {
	m, err := cgroupfs.ReadMounts(mountinfo)
	if err != nil {
		return "", err
	}
	if m.Unified == "" {
		return "", errors.New("no cgroup2 entry in " + mountinfo)
	}
	return m.Unified, nil
}

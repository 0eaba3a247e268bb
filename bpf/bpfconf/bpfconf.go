// Package bpfconf holds the eBPF source's settings and their validation. It is kept
// apart from package bpf, which loads programs through cilium/ebpf, so that the
// configuration assembly imports no source; bpf.OptionsFrom turns validated Settings
// into the source's Options.
package bpfconf

import "github.com/podexporter/podexporter/internal/setting"

// Settings configures the optional eBPF per-container network counters.
type Settings struct {
	// Enable loads cgroup_skb programs at the cgroup2 root; off by default.
	Enable bool
	// Extras adds TCP retransmits and packet drops by reason from tracepoints.
	Extras bool
}

// Validate checks the eBPF settings; a problem comes back as a *setting.Error naming
// the flag and the fix.
func (s *Settings) Validate() error {
	if s.Extras && !s.Enable {
		return &setting.Error{Setting: "--ebpf.extras", Problem: "given without --ebpf.enable", Fix: "add --ebpf.enable (ebpf.enable: true in the file), or leave --ebpf.extras out"}
	}
	return nil
}

// Declare declares the eBPF settings, with their defaults, into set.
func (s *Settings) Declare(set *setting.Set) {
	set.Bool(&s.Enable, "ebpf.enable", "Count per-container network traffic with eBPF (cgroup_skb at the cgroup2 root; needs CAP_BPF and CAP_NET_ADMIN); counts host-network containers too and takes precedence over /proc/PID/net/dev.", false).
		WithDoc("IP-level bytes, without link headers")
	set.Bool(&s.Extras, "ebpf.extras", "With --ebpf.enable, also count TCP retransmits and packet drops by reason per container (tracepoints; needs CAP_PERFMON, tracefs and kernel BTF).", false)
}

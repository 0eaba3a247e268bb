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

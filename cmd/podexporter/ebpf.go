package main

import (
	"log/slog"

	"github.com/podexporter/podexporter/bpf"
	"github.com/podexporter/podexporter/cmd/podexporter/internal/config"
	"github.com/podexporter/podexporter/collectors"
	"github.com/podexporter/podexporter/podman"
)

// ebpfSource builds the eBPF network counting when --ebpf.enable is given. The
// programs are attached here, before any source runs, so that the Podman engine's
// first stats poll already reads eBPF counters and a container's counters never
// switch source. A failure only disables it (logged once, podexporter_ebpf_enabled 0).
func ebpfSource(cfg *config.Config, logger *slog.Logger, deps *collectors.Deps) []component {
	if !cfg.EBPF.Enable {
		return nil
	}
	opts := bpf.OptionsFrom(cfg.EBPF)
	opts.Logger = logger
	src := bpf.NewSource(opts)
	deps.EBPF = src
	return []component{{name: "ebpf", run: src.Run}}
}

// netCounters gives the Podman engine the eBPF counters; nil when eBPF is off.
func netCounters(deps *collectors.Deps) podman.NetCounters {
	src, ok := deps.EBPF.(*bpf.Source)
	if !ok || !src.Enabled() {
		return nil
	}
	return ebpfNetCounters{src}
}

type ebpfNetCounters struct{ src *bpf.Source }

func (n ebpfNetCounters) Container(fullID string) (*podman.NetworkCounters, bool) {
	c, ok := n.src.Container(fullID)
	if !ok {
		return nil, false
	}
	return &podman.NetworkCounters{Source: "ebpf", RxBytes: c.RxBytes, RxPackets: c.RxPackets, TxBytes: c.TxBytes, TxPackets: c.TxPackets}, true
}

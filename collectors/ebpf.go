package collectors

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podexporter/podexporter/bpf"
	"github.com/podexporter/podexporter/internal/catalog"
)

// EBPFStats is what the ebpf collector reads: the eBPF source's state, program costs
// and the per-container extras. Bytes and packets reach the metrics through the Podman
// snapshot instead (podman.Options.NetCounters).
type EBPFStats interface {
	Enabled() bool
	ExtrasEnabled() bool
	ProgramStats() []bpf.ProgramStats
	ContainerExtras(fullID string) (retransmits uint64, drops map[string]uint64, ok bool)
}

func init() {
	register("ebpf", "eBPF network counting: whether it is on, program run time, and with --ebpf.extras TCP retransmits and drops per container.", true, newEBPFCollector)
}

type ebpfCollector struct {
	src     EBPFStats
	pods    Snapshots
	labels  containerLabels
	retrans *prometheus.Desc
	drops   *prometheus.Desc
}

func newEBPFCollector(d Deps) (Collector, error) {
	c := &ebpfCollector{src: d.EBPF, pods: d.Podman}
	c.labels = containerLabelsOf(d)
	c.retrans, c.drops = c.labels.desc(catalog.ContainerTCPRetransmits), c.labels.desc(catalog.ContainerPacketDrops)
	return c, nil
}

func (c *ebpfCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	e := emitter{ch}
	if c.src == nil || !c.src.Enabled() {
		e.emit(catalog.EBPFEnabled, 0)
		e.emit(catalog.EBPFExtrasEnabled, 0)
		return nil
	}
	e.emit(catalog.EBPFEnabled, 1)
	extras := c.src.ExtrasEnabled()
	e.emit(catalog.EBPFExtrasEnabled, boolValue(extras))
	for _, p := range c.src.ProgramStats() {
		e.emit(catalog.EBPFProgramRunTime, p.Runtime.Seconds(), p.Name)
		e.emit(catalog.EBPFProgramRuns, float64(p.Runs), p.Name)
	}
	if !extras || c.pods == nil {
		return nil
	}
	for _, s := range c.pods.Snapshots() {
		for i := range s.Containers {
			k := &s.Containers[i]
			if k.State != "running" || k.Excluded {
				continue
			}
			retrans, drops, ok := c.src.ContainerExtras(k.ID)
			if !ok {
				continue
			}
			send(ch, c.retrans, prometheus.CounterValue, float64(retrans), c.labels.values(s, k)...)
			for reason, n := range drops {
				send(ch, c.drops, prometheus.CounterValue, float64(n), c.labels.values(s, k, reason)...)
			}
		}
	}
	return nil
}

package collectors

import (
	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/internal/cgroupfs"
)

// limitFamilies maps each family of the limits group to the value it shows and the bit
// that says the kernel offered it: a family is left out, not sent as 0, where the
// cgroup has no such file or no such limit.
var limitFamilies = []struct {
	m     *catalog.Metric
	have  cgroupfs.Have
	value func(l *cgroupfs.Limits) float64
}{
	{catalog.ContainerCPULimit, cgroupfs.HaveCPULimit, func(l *cgroupfs.Limits) float64 { return float64(l.CPUQuota) / float64(l.CPUPeriod) }},
	{catalog.ContainerCPUSet, cgroupfs.HaveCPUs, func(l *cgroupfs.Limits) float64 { return float64(l.CPUs) }},
	{catalog.ContainerCPUPeriods, cgroupfs.HaveThrottling, func(l *cgroupfs.Limits) float64 { return float64(l.Periods) }},
	{catalog.ContainerCPUThrottledPeriods, cgroupfs.HaveThrottling, func(l *cgroupfs.Limits) float64 { return float64(l.ThrottledPeriods) }},
	{catalog.ContainerCPUThrottled, cgroupfs.HaveThrottling, func(l *cgroupfs.Limits) float64 { return l.ThrottledTime.Seconds() }},
	{catalog.ContainerMemoryMax, cgroupfs.HaveMemoryMax, func(l *cgroupfs.Limits) float64 { return float64(l.MemoryMax) }},
	{catalog.ContainerMemoryHigh, cgroupfs.HaveMemoryHigh, func(l *cgroupfs.Limits) float64 { return float64(l.MemoryHigh) }},
	{catalog.ContainerMemoryPeak, cgroupfs.HaveMemoryPeak, func(l *cgroupfs.Limits) float64 { return float64(l.MemoryPeak) }},
	{catalog.ContainerSwapUsage, cgroupfs.HaveSwapUsage, func(l *cgroupfs.Limits) float64 { return float64(l.SwapUsage) }},
	{catalog.ContainerSwapMax, cgroupfs.HaveSwapMax, func(l *cgroupfs.Limits) float64 { return float64(l.SwapMax) }},
	{catalog.ContainerPIDsLimit, cgroupfs.HavePIDsMax, func(l *cgroupfs.Limits) float64 { return float64(l.PIDsMax) }},
	{catalog.ContainerMemoryLowEvents, cgroupfs.HaveLowEvents, func(l *cgroupfs.Limits) float64 { return float64(l.LowEvents) }},
	{catalog.ContainerMemoryHighEvents, cgroupfs.HaveHighEvents, func(l *cgroupfs.Limits) float64 { return float64(l.HighEvents) }},
	{catalog.ContainerMemoryMaxEvents, cgroupfs.HaveMaxEvents, func(l *cgroupfs.Limits) float64 { return float64(l.MaxEvents) }},
	{catalog.ContainerMemoryOOMEvents, cgroupfs.HaveOOMEvents, func(l *cgroupfs.Limits) float64 { return float64(l.OOMEvents) }},
	{catalog.ContainerMemoryOOMKills, cgroupfs.HaveOOMKills, func(l *cgroupfs.Limits) float64 { return float64(l.OOMKills) }},
	{catalog.ContainerCPUWaiting, cgroupfs.HaveCPUSome, pressure(cgroupfs.PressureCPU, false)},
	{catalog.ContainerCPUStalled, cgroupfs.HaveCPUFull, pressure(cgroupfs.PressureCPU, true)},
	{catalog.ContainerMemoryWaiting, cgroupfs.HaveMemorySome, pressure(cgroupfs.PressureMemory, false)},
	{catalog.ContainerMemoryStalled, cgroupfs.HaveMemoryFull, pressure(cgroupfs.PressureMemory, true)},
	{catalog.ContainerIOWaiting, cgroupfs.HaveIOSome, pressure(cgroupfs.PressureIO, false)},
	{catalog.ContainerIOStalled, cgroupfs.HaveIOFull, pressure(cgroupfs.PressureIO, true)},
}

func pressure(r cgroupfs.Resource, full bool) func(l *cgroupfs.Limits) float64 {
	return func(l *cgroupfs.Limits) float64 {
		if full {
			return l.Pressure[r].Full.Seconds()
		}
		return l.Pressure[r].Some.Seconds()
	}
}

// emitLimits sends a running container's limits group.
func emitLimits(l *cgroupfs.Limits, emit func(m *catalog.Metric, v float64)) {
	if l == nil {
		return
	}
	for _, f := range limitFamilies {
		if l.Has(f.have) {
			emit(f.m, f.value(l))
		}
	}
}

package podman

import (
	"fmt"
	"time"

	"github.com/podexporter/podexporter/internal/cgroupfs"
)

// readCgroup completes one container's stats with what its cgroup says beyond the API:
// memory detail, and the limits, throttling, memory events and pressure. The previous
// round's limits and counters are handed on, so that each file is read only as often
// as cgroupfs.AgesFor says.
func (e *Engine) readCgroup(c *Container, s *Stats, now time.Time) {
	if e.opts.Cgroups == nil || c.CgroupPath == "" {
		return
	}
	var prev *cgroupfs.Limits
	if c.Stats != nil {
		prev = c.Stats.Limits
	}
	r := e.opts.Cgroups.Read(c.CgroupPath, prev, cgroupfs.AgesFor(e.opts.StatsInterval, e.opts.SlowInterval), now)
	if r.MemoryErr == nil {
		ws := s.MemUsage
		if r.Memory.InactiveFile < ws {
			ws -= r.Memory.InactiveFile
		}
		s.Memory = &MemoryDetail{RSS: r.Memory.RSS, Cache: r.Memory.Cache, WorkingSet: ws}
	}
	s.Limits = &r.Limits
}

// readNetDev reads the counters of the network namespace of the container's process,
// through the buffers the cgroup files are read with: os.ReadFile's extra calls cost
// more than the parse on a VM.
func (e *Engine) readNetDev(pid int) (*NetworkCounters, error) {
	var n *NetworkCounters
	err := cgroupfs.ReadFile(fmt.Sprintf("%s/%d/net/dev", e.opts.ProcRoot, pid), func(data []byte) error {
		var err error
		n, err = parseNetDev(data)
		return err
	})
	return n, err
}

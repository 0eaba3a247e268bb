package podman

import (
	"strconv"
	"time"

	"github.com/podexporter/podexporter/internal/cgroupfs"
)

// readCgroup completes one container's stats with what its cgroup says beyond the API:
// memory detail, and the limits, throttling, memory events and pressure. The previous
// round's limits and counters are handed on, so that each file is read only as often
// as cgroupfs.AgesFor says, and the files read every round stay open between rounds.
func (e *Engine) readCgroup(c *Container, s *Stats, now time.Time) {
	if e.opts.Cgroups == nil || c.CgroupPath == "" {
		return
	}
	var prev *cgroupfs.Limits
	if c.Stats != nil {
		prev = c.Stats.Limits
	}
	o := e.open.of(c.ID)
	r := e.opts.Cgroups.ReadWith(&o.cgroup, c.CgroupPath, prev, cgroupfs.AgesFor(e.opts.StatsInterval, e.opts.SlowInterval), now)
	if o.cgroup.Reopened() {
		// The cgroup was removed since the last round: the container restarted,
		// and its process's network namespace is a new one.
		o.netdev.Close()
	}
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
// through a file kept open between rounds: opening /proc/PID/net/dev costs three times
// what reading it does, and os.ReadFile's extra calls more than the parse on a VM.
func (e *Engine) readNetDev(c *Container) (*NetworkCounters, error) {
	var n *NetworkCounters
	path := e.opts.ProcRoot + "/" + strconv.Itoa(c.Pid) + "/net/dev"
	err := e.open.of(c.ID).netdev.Read(path, func(data []byte) error {
		var err error
		n, err = parseNetDev(data)
		return err
	})
	return n, err
}

// openFiles are the files the stats rounds keep open for one running container.
type openFiles struct {
	cgroup cgroupfs.Files
	// netdev is /proc/PID/net/dev. Kept open, it holds the network namespace the
	// process had when it was opened, even after the process is gone: it is closed
	// when the PID changes (File.Read), when the cgroup was renewed (readCgroup), and
	// with the rest when the container is no longer read.
	netdev cgroupfs.File
	round  uint64 // the last stats round that read them
}

// openSet are the open files of the containers the stats rounds read, by full id: at
// most 5 descriptors a container (cgroupfs.Files's 4, and net/dev), within the bound
// cgroupfs keeps for all of them.
type openSet struct {
	byID  map[string]*openFiles
	round uint64
}

// of returns a container's open files, noting that this round reads them.
func (s *openSet) of(id string) *openFiles {
	o := s.byID[id]
	if o == nil {
		if s.byID == nil {
			s.byID = map[string]*openFiles{}
		}
		o = &openFiles{}
		s.byID[id] = o
	}
	o.round = s.round
	return o
}

// endRound closes the files of the containers this round did not read: stopped,
// removed, left out of the metrics, or without stats from Podman. A stopped container's
// cgroup is gone, and its files would only fail to read, holding a descriptor each.
func (s *openSet) endRound() {
	for id, o := range s.byID {
		if o.round != s.round {
			o.cgroup.Close()
			o.netdev.Close()
			delete(s.byID, id)
		}
	}
	s.round++
}

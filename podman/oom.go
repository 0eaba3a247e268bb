package podman

import "time"

// oomReading is the kernel's OOM kill count at one moment.
type oomReading struct {
	at    time.Time
	count uint64
}

// detectOOM fills in OOMKilled where Podman misses it: on hosts with cgroup v1 memory
// (hybrid layouts) conmon does not notice memcg OOM kills, and the container's cgroup,
// whose oom_kill counter would say so, is gone by the time its death is reported.
// Best is the kernel's own log line naming the container's cgroup (OOMLog). Without
// access to it: a container that died of SIGKILL (137) while the kernel's oom_kill
// counter moved between a reading taken before it finished and now was OOM-killed;
// another OOM kill on the host in that window could mislabel a plain SIGKILL, and a
// reading taken between the kill and Podman recording the exit hides it. Podman's own
// flag wins when it is set.
func (e *Engine) detectOOM(c *Container) {
	switch {
	case c.State == "running" || c.State == "created" || c.State == "initialized":
		delete(e.oomKilled, c.ID)
		e.opts.OOMLog.ForgetBefore(c.ID, c.Started)
	case c.OOMKilled || e.oomKilled[c.ID]:
	case e.opts.OOMLog.Killed(c.ID):
		// Whatever the exit code: the kernel may have killed a child, not the
		// container's main process, which Podman also reports as OOMKilled.
		e.oomKilled[c.ID] = true
	case c.ExitCode != 137 || c.Finished.IsZero():
	default:
		var before *oomReading
		for i := range e.oomSeen {
			if e.oomSeen[i].at.Before(c.Finished) {
				before = &e.oomSeen[i]
			}
		}
		now, err := readOOMCounter(e.opts.ProcRoot)
		if before != nil && err == nil && now > before.count {
			e.oomKilled[c.ID] = true
		}
	}
	c.OOMKilled = c.OOMKilled || e.oomKilled[c.ID]
}

// noteOOMCounter records the kernel's OOM kill count for detectOOM, keeping the last
// few readings so that a poll between a kill and its event does not hide it.
func (e *Engine) noteOOMCounter() {
	n, err := readOOMCounter(e.opts.ProcRoot)
	if err != nil {
		return
	}
	e.oomSeen = append(e.oomSeen, oomReading{at: time.Now(), count: n})
	if len(e.oomSeen) > 16 {
		e.oomSeen = e.oomSeen[1:]
	}
}

// applyOOMLog marks the containers the kernel's log says were OOM-killed: its line
// can be read after the container's death was inspected.
func (e *Engine) applyOOMLog() {
	for _, c := range e.containers {
		if !c.OOMKilled && c.State != "running" && e.opts.OOMLog.Killed(c.ID) {
			old := *c
			c.OOMKilled, e.oomKilled[c.ID] = true, true
			e.derive(&old, c)
		}
	}
}

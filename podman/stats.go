package podman

import (
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/containers/podman/v5/libpod/define"
)

// refreshStats makes one stats call for all running containers and adds what the API
// lacks: memory detail, limits, throttling, memory events and pressure from the cgroup
// (cgroup.go), and network counters from the container's network namespace when the
// API has none (Podman 4.x sends no per-interface map).
func (e *Engine) refreshStats(api API) error {
	var ids []string
	for id, c := range e.containers {
		// A container the metrics leave out is never asked for: that is all it
		// saves, since Podman reads each asked container's cgroup for the answer.
		if c.State == "running" && !c.Excluded && e.statsBroken[id] == nil {
			ids = append(ids, id)
		}
	}
	for id := range e.statsBroken {
		if c, ok := e.containers[id]; !ok || c.State != "running" || c.Excluded {
			delete(e.statsBroken, id)
		}
	}
	brokenBefore := maps.Clone(e.statsBroken)
	var all []define.ContainerStats
	if err := e.statsOf(api, ids, &all); err != nil {
		return err
	}
	// The ones broken before are asked apart, so that they cannot spoil the others'
	// call; together, since most often they are all well again or all still broken.
	retry := slices.Collect(maps.Keys(brokenBefore))
	n := len(all)
	if err := e.statsOf(api, retry, &all); err != nil {
		return err
	}
	for _, st := range all[n:] {
		delete(e.statsBroken, st.ContainerID)
	}
	// A container that is stopping fails one round and is gone by the next: only
	// one that fails two rounds in a row while running is worth a line, once per
	// outage however many containers come and go meanwhile.
	var persistent []string
	for id := range e.statsBroken {
		if _, ok := brokenBefore[id]; ok {
			persistent = append(persistent, id)
		}
	}
	switch {
	case !e.statsWarned && len(persistent) > 0:
		e.statsWarned = true
		id := slices.Min(persistent)
		e.opts.Logger.Warn("podman cannot give stats for some running containers; their resource metrics are missing until it can (counted in podexporter_podman_errors_total{call=\"stats\"})",
			"podman_service", e.service, "containers", len(persistent), "example", e.containers[id].Name, "err", e.statsBroken[id])
	case e.statsWarned && len(e.statsBroken) == 0:
		e.statsWarned = false
		e.opts.Logger.Info("podman gives stats for every running container again", "podman_service", e.service)
	}
	e.applyStats(all)
	return nil
}

// statsOf asks for ids together and appends what Podman answers to all. One container
// Podman cannot give stats for spoils the call for all of them, so a refused call is
// split in halves until the broken ones stand alone: k broken containers among n cost
// about 2k·log2(n) calls, not n (a host with 300 containers and one broken spent its
// whole stats interval asking each alone).
func (e *Engine) statsOf(api API, ids []string, all *[]define.ContainerStats) error {
	if len(ids) == 0 {
		return nil
	}
	got, failed, err := e.stats(api, ids)
	switch {
	case err != nil:
		return err
	case failed == nil:
		*all = append(*all, got...)
		return nil
	case len(ids) == 1:
		e.statsBroken[ids[0]] = failed
		return nil
	}
	half := len(ids) / 2
	if err := e.statsOf(api, ids[:half], all); err != nil {
		return err
	}
	return e.statsOf(api, ids[half:], all)
}

// stats asks for the given containers' stats. failed is Podman's refusal (counted);
// err is a broken connection, which ends the session.
func (e *Engine) stats(api API, ids []string) (_ []define.ContainerStats, failed, err error) {
	ch, err := api.Stats(ids)
	if err != nil {
		if err := e.apiError("stats", err); err != nil {
			return nil, nil, err
		}
		return nil, errors.New("refused"), nil
	}
	report, ok := <-ch
	for range ch {
	}
	if !ok {
		e.errs["stats"]++
		return nil, errors.New("no report"), nil
	}
	if report.Error != nil {
		e.errs["stats"]++
		return nil, report.Error, nil
	}
	return report.Stats, nil, nil
}

// applyStats turns one round of stats into each container's Stats.
func (e *Engine) applyStats(report []define.ContainerStats) {
	now := time.Now()
	for _, st := range report {
		c, ok := e.containers[st.ContainerID]
		if !ok || c.Excluded {
			// Podman answers what was asked; this keeps the cgroup and /proc
			// reads off an excluded container whatever it answers.
			continue
		}
		s := &Stats{
			Time:         now,
			CPUTotal:     time.Duration(st.CPUNano),
			CPUSystem:    time.Duration(st.CPUSystemNano),
			MemUsage:     st.MemUsage,
			MemLimit:     st.MemLimit,
			PIDs:         st.PIDs,
			BlockRead:    st.BlockInput,
			BlockWritten: st.BlockOutput,
		}
		e.readCgroup(c, s, now)
		if !c.HostNetwork() {
			s.Network = apiNetwork(st.Network)
			if s.Network == nil && c.Pid > 0 {
				if n, err := e.readNetDev(c); err == nil {
					s.Network = n
				}
			}
		}
		if e.opts.NetCounters != nil {
			if n, ok := e.opts.NetCounters.Container(c.ID); ok {
				// eBPF counts bytes and packets only; errors and drops stay the
				// interfaces' when the container has interfaces of its own.
				if d := s.Network; d != nil {
					n.RxErrors, n.RxDropped, n.TxErrors, n.TxDropped = d.RxErrors, d.RxDropped, d.TxErrors, d.TxDropped
				}
				s.Network = n
			}
		}
		c.Stats = s
	}
	e.open.endRound() // closes the files of containers this round did not read
}

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
	if len(ids) > 0 {
		got, failed, err := e.stats(api, ids)
		if err != nil {
			return err
		}
		if failed == nil {
			all = got
		} else {
			// One container spoils the call for all: find it by asking each alone.
			for _, id := range ids {
				got, failed, err := e.stats(api, []string{id})
				if err != nil {
					return err
				}
				if failed != nil {
					e.statsBroken[id] = failed
					continue
				}
				all = append(all, got...)
			}
		}
	}
	for id := range e.statsBroken {
		if slices.Contains(ids, id) {
			continue // asked just now
		}
		got, failed, err := e.stats(api, []string{id})
		if err != nil {
			return err
		}
		if failed == nil {
			delete(e.statsBroken, id)
			all = append(all, got...)
		}
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
				if n, err := e.readNetDev(c.Pid); err == nil {
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
}

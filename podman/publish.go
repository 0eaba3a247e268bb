package podman

import (
	"sort"
	"time"
)

// commit completes the state with what the kernel's OOM log says and publishes it.
func (e *Engine) commit() {
	e.applyOOMLog()
	e.publish(true)
}

// publish builds an immutable snapshot from the engine's state and swaps it in; it
// changes nothing else.
func (e *Engine) publish(up bool) {
	e.updated = time.Now()
	s := &Snapshot{
		Service:       e.service,
		URI:           e.opts.URI,
		Up:            up,
		Updated:       e.updated,
		Reconnects:    e.reconnects,
		ForeignEvents: e.foreignEvents,
		APIRequests:   e.requestCounts(),
		Errors:        cloneCounts(e.errs),
		Pods:          e.pods,
		Images:        e.images,
		Volumes:       e.volumes,
		Networks:      e.networks,
		System:        e.system,
		Storage:       e.storage.snapshot(),
		HealthChecks:  map[string]map[string]uint64{},
	}
	cs := make([]Container, 0, len(e.containers))
	for _, c := range e.containers {
		cs = append(cs, *c)
		if c.Excluded {
			s.ContainersExcluded++
		}
	}
	// Newest first, so a cap keeps what operators are most likely looking at; the
	// containers the metrics show before those they leave out, so that excluding
	// (a host's hundreds of infra containers, say) never costs a shown one its place.
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Excluded != cs[j].Excluded {
			return !cs[i].Excluded
		}
		if !cs[i].Created.Equal(cs[j].Created) {
			return cs[i].Created.After(cs[j].Created)
		}
		return cs[i].ID < cs[j].ID
	})
	if max := e.opts.MaxContainers; max > 0 && len(cs) > max {
		e.dropped += uint64(len(cs) - max)
		cs = cs[:max]
	}
	podNames := map[string]string{}
	for _, p := range e.pods {
		podNames[p.ID] = p.Name
	}
	for i := range cs {
		cs[i].PodName = podNames[cs[i].PodID]
		if hc := e.healthChecks[cs[i].ID]; hc != nil {
			s.HealthChecks[cs[i].ID] = cloneCounts(hc)
		}
	}
	s.Containers = cs
	s.ContainersDropped = e.dropped
	s.buildIndex()
	e.snap.Store(s)
}

func cloneCounts(m map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

package podman

import (
	"fmt"
	"time"

	"github.com/containers/podman/v5/libpod/define"
	"github.com/containers/podman/v5/pkg/domain/entities/types"
)

// firstSight says whether the event is new. A subscription that resumes at the last
// event's time replays what it had already sent from that time on; events are not in
// time order either (each podman process stamps its own, and the journal keeps them
// in the order they were written), so an event is known by what it is and when, not
// by coming before the newest one.
func (e *Engine) firstSight(ev types.Event) bool {
	key := eventKey{string(ev.Type), string(ev.Action), ev.Actor.ID, ev.TimeNano}
	if _, seen := e.seenEvents.get(key); seen {
		return false
	}
	e.lastEventNano = max(e.lastEventNano, ev.TimeNano)
	e.seenEvents.put(key, struct{}{}, ev.TimeNano, e.lastEventNano)
	return true
}

// eventKey is what an event is and when.
type eventKey struct {
	typ, action, id string
	nano            int64
}

// maxSeenEvents and seenEventsWindow bound the events remembered for firstSight:
// only events near the newest can come again in a replay.
const (
	maxSeenEvents    = 8192
	seenEventsWindow = 10 * time.Minute
)

// owns says whether the container is this service's: known, removed by it lately, or
// found by inspecting it at its first event, while it most likely still exists: look
// is what probe's inspect answered when the event arrived, nil when probe left the
// container to the engine (it was in the snapshot), which then inspects it now. A
// container removed before its first event arrived cannot be told from another
// service's and is left out (counted in foreignEvents). looked says it was inspected
// at this event, so this event needs no second look.
func (e *Engine) owns(api API, id string, look *firstLook) (owned, looked bool, err error) {
	if _, ok := e.containers[id]; ok {
		return true, false, nil
	}
	if _, ok := e.gone.get(id); ok {
		return true, false, nil
	}
	if _, ok := e.foreign.get(id); ok {
		return false, false, nil
	}
	if look != nil {
		err = e.applyInspect(id, look.data, look.err)
	} else {
		err = e.inspect(api, id)
	}
	if err != nil {
		return false, false, err
	}
	if c, ok := e.containers[id]; ok {
		// New to this service through its events, so it appeared since podexporter
		// watches, and what its first look shows already happened since then: an
		// OOM kill (a short-lived container, or one whose events came late), and a
		// health status past "starting", where every health check begins (its
		// first check ran before this look: on the Podman 6 host of systemd-e2e,
		// one that came right after the container started).
		old := Container{Health: c.Health}
		if c.Health.Status != "" && c.Health.Status != define.HealthCheckStarting {
			old.Health.Status = define.HealthCheckStarting
		}
		e.derive(&old, c)
		return true, true, nil
	}
	now := time.Now().UnixNano()
	e.foreign.put(id, struct{}{}, now, now)
	return false, true, nil
}

// ignoredActions are the container event actions that change nothing the engine
// shows: neither looked at nor passed on.
var ignoredActions = map[string]bool{"exec": true, "exec_died": true, "attach": true, "checkpoint": true, "export": true,
	"import": true, "mount": true, "unmount": true, "commit": true, "sync": true, "history": true}

// probedEvent is an event from the stream with, at a container's first event, what
// inspecting the container answered when the event arrived.
type probedEvent struct {
	ev   types.Event
	look *firstLook
}

type firstLook struct {
	data *define.InspectContainerData
	err  error
}

// probe passes the events from in to out in order, and inspects each container at its
// first event as the event arrives: which service a container belongs to is known by
// whether the service still has it at that look. The engine's goroutine may get to the
// event seconds later (it waits for Podman's slower answers: info, stats, sizes, a
// relist), and a container created and removed meanwhile was taken for another
// service's, all its events left out. Containers the published snapshot has are left
// to the engine, as is everything after the first look: probe reads no engine state
// but the snapshot. It closes out when in ends.
func (e *Engine) probe(api API, in <-chan types.Event, out chan<- probedEvent) {
	defer close(out)
	looked := newRecent[string, struct{}](int64(rememberFor), maxRemembered)
	for ev := range in {
		pe := probedEvent{ev: ev}
		if id := ev.Actor.ID; ev.Type == "container" && id != "" && !ignoredActions[string(ev.Action)] {
			if _, ok := looked.get(id); !ok {
				now := time.Now().UnixNano()
				looked.put(id, struct{}{}, now, now)
				if _, known := e.Snapshot().Find(id); !known {
					data, err := api.InspectContainer(id)
					pe.look = &firstLook{data, err}
				}
			}
		}
		out <- pe
	}
}

// rememberFor and maxRemembered bound the gone and foreign sets. Forgetting costs
// little: a late event of a container removed longer ago than that is left out as
// another service's, and a foreign container that still has events is inspected
// once more.
const (
	rememberFor   = 10 * time.Minute
	maxRemembered = 4096
)

// lifecycleActions are the event actions passed on to OnEvent as they arrive;
// health_status and oom are derived from inspect instead (see inspect).
var lifecycleActions = map[string]bool{"start": true, "died": true, "stop": true, "pause": true, "unpause": true, "restart": true, "remove": true}

func (e *Engine) lifecycle(ev types.Event) {
	if !lifecycleActions[string(ev.Action)] {
		return
	}
	c := Container{ID: ev.Actor.ID, Name: ev.Actor.Attributes["name"], Image: ev.Actor.Attributes["image"]}
	if known, ok := e.containers[ev.Actor.ID]; ok {
		c = *known
	} else if gone, ok := e.gone.get(ev.Actor.ID); ok {
		c = *gone
	}
	le := LifecycleEvent{Time: time.Unix(0, ev.TimeNano), Action: string(ev.Action), Service: e.service, Container: c}
	if le.Action == "died" {
		fmt.Sscan(ev.Actor.Attributes["containerExitCode"], &le.ExitCode)
	}
	e.emit(le)
}

// derive emits the events Podman has no event of its own for, from a container's
// change between two looks: an OOM kill and a change of health status.
func (e *Engine) derive(old, c *Container) {
	if c.OOMKilled && !old.OOMKilled {
		e.emit(LifecycleEvent{Time: c.Finished, Action: "oom", Service: e.service, Container: *c, ExitCode: int(c.ExitCode)})
	}
	if c.Health.Status != "" && c.Health.Status != old.Health.Status {
		e.emit(LifecycleEvent{Time: time.Now(), Action: "health_status", Service: e.service, Container: *c, Health: c.Health.Status})
	}
}

// emit is the one place events leave the engine.
func (e *Engine) emit(le LifecycleEvent) {
	if e.opts.OnEvent != nil {
		e.opts.OnEvent(le)
	}
}

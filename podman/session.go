package podman

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/containers/podman/v5/pkg/domain/entities/types"
	"github.com/containers/podman/v5/pkg/errorhandling"
)

// flushDelay is how long events gather before they are applied in one pass.
const flushDelay = 100 * time.Millisecond

// session is one connection's life: subscribe to events, list everything, then apply
// events and periodic polls until the connection breaks.
func (e *Engine) session(ctx context.Context, started func(), outage *bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	api, err := e.opts.Dial(ctx, e.opts.URI, e.count)
	if err != nil {
		return err
	}

	// Subscribe before listing, so nothing that happens during the list is missed.
	events := make(chan types.Event, 256)
	cancelEvents := make(chan bool)
	since := ""
	if e.lastEventNano > 0 {
		since = time.Unix(0, e.lastEventNano).UTC().Format(time.RFC3339Nano)
	}
	if err := api.Events(events, cancelEvents, since); err != nil {
		return fmt.Errorf("subscribe to events: %w", err)
	}
	// Each container's first event is looked at as it arrives, beside this goroutine,
	// which can be in a slow call for seconds (see probe).
	probed := make(chan probedEvent, cap(events))
	go e.probe(api, events, probed)
	defer func() {
		close(cancelEvents)
		// The binding's reader goroutine closes events once the body is closed, and
		// probe then closes probed.
		go func() {
			for range probed {
			}
		}()
	}()

	if err := e.relist(api); err != nil {
		return err
	}
	if err := e.refreshSlow(api); err != nil {
		return err
	}
	if err := e.refreshStats(api); err != nil {
		return err
	}
	e.noteOOMCounter()
	e.commit()
	if *outage {
		e.opts.Logger.Info("podman service reachable again", "podman_service", e.service)
		*outage = false
	}
	// Serving before started: a reader let go by readiness must be able to ask.
	e.serving.Store(true)
	defer e.serving.Store(false)
	started()

	statsT := time.NewTicker(e.opts.StatsInterval)
	defer statsT.Stop()
	slowT := time.NewTicker(e.opts.SlowInterval)
	defer slowT.Stop()
	var sizeC <-chan time.Time
	// A size round runs beside this goroutine (Podman walks every layer and volume
	// for it) and hands its answers back on sized, which has room for the one in
	// flight so that it never blocks after the session ends.
	sized := make(chan sizeResult, 1)
	sizing := false
	measure := func() {
		if sizing || !e.storage.pacer.due(time.Now()) {
			return
		}
		sizing = true
		go func() { sized <- measureSizes(api, time.Now) }()
	}
	if e.opts.SizeInterval > 0 {
		sizeT := time.NewTicker(e.opts.SizeInterval)
		defer sizeT.Stop()
		sizeC = sizeT.C
		measure()
	}
	// Events are applied in small batches: a burst of 200 starts costs one pass. The
	// batch is applied flushDelay after its first event, not after its last: on a
	// busy host (CI's parallel tests, a fleet of restarting containers) events come
	// more often than that without end, and a timer pushed back by each of them
	// never fired, holding a health change or a died container back indefinitely.
	dirty := map[string]bool{}
	podsDirty, inventoryDirty := false, false
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	defer flush.Stop()
	flushing := false

	for {
		select {
		case <-ctx.Done():
			return nil
		case pe, ok := <-probed:
			if !ok {
				e.reconnects++
				return errEventsClosed
			}
			ev := pe.ev
			if !e.firstSight(ev) {
				continue
			}
			switch ev.Type {
			case "container":
				if ignoredActions[string(ev.Action)] {
					continue
				}
				owned, looked, err := e.owns(api, ev.Actor.ID, pe.look)
				if err != nil {
					return err
				}
				if !owned {
					e.foreignEvents++
					continue
				}
				if !looked {
					dirty[ev.Actor.ID] = true
				}
				podsDirty = podsDirty || ev.Actor.Attributes["podId"] != ""
				e.lifecycle(ev)
			case "pod":
				podsDirty = true
			default:
				inventoryDirty = true
			}
			if !flushing {
				flushing = true
				flush.Reset(flushDelay)
			}
		case <-flush.C:
			flushing = false
			e.noteOOMCounter()
			for id := range dirty {
				if err := e.inspect(api, id); err != nil {
					return err
				}
			}
			clear(dirty)
			if podsDirty {
				if err := e.listPods(api); err != nil {
					return err
				}
				podsDirty = false
			}
			if inventoryDirty {
				if err := e.refreshInventory(api); err != nil {
					return err
				}
				inventoryDirty = false
			}
			e.commit()
		case <-statsT.C:
			if err := e.refreshStats(api); err != nil {
				return err
			}
			e.noteOOMCounter()
			e.commit()
		case <-slowT.C:
			if err := e.refreshSlow(api); err != nil {
				return err
			}
			e.commit()
		case <-sizeC:
			measure()
		case r := <-sized:
			sizing = false
			if err := e.applySizes(r); err != nil {
				return err
			}
			e.commit()
		case req := <-e.lookups:
			// A reader met a container before its events reached us: inspect it now.
			if _, known := e.containers[req.id]; !known {
				if err := e.inspect(api, req.id); err != nil {
					close(req.done)
					return err
				}
			}
			// Its first event may have been inspected (owns) but not yet published:
			// the flush is up to 100 ms away, and a miss would be remembered.
			if _, ok := e.Snapshot().Find(req.id); !ok {
				if _, known := e.containers[req.id]; known {
					e.commit()
				}
			}
			close(req.done)
		}
	}
}

// apiError sorts an error: nil when the service answered with an error status (counted
// under what, and the session goes on), the error itself when the connection failed.
func (e *Engine) apiError(what string, err error) error {
	if err == nil {
		return nil
	}
	var em *errorhandling.ErrorModel
	if errors.As(err, &em) {
		e.errs[what]++
		e.opts.Logger.Debug("podman API call failed", "podman_service", e.service, "call", what, "err", err)
		return nil
	}
	e.errs[what]++
	return fmt.Errorf("%s: %w", what, err)
}

func isNotFound(err error) bool {
	var em *errorhandling.ErrorModel
	return errors.As(err, &em) && em.ResponseCode == http.StatusNotFound
}

// relist replaces all container and pod state: after a reconnect nothing from before
// can be trusted.
func (e *Engine) relist(api API) error {
	list, err := api.ListContainers(false)
	if err != nil {
		return e.apiError("list_containers", err)
	}
	seen := map[string]bool{}
	for _, lc := range list {
		seen[lc.ID] = true
		if err := e.inspect(api, lc.ID); err != nil {
			return err
		}
	}
	for id := range e.containers {
		if !seen[id] {
			e.forget(id)
		}
	}
	return e.listPods(api)
}

package otlp

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
)

// Event is a container lifecycle event (start, died, oom, health status change,
// restart) or a systemd unit's (failed, restarted, started, stopped) to be sent as a
// log record, so that a pipeline sees why a container's logs stopped. A unit's event
// goes on its container's resource, or the host's when it has none (Container.ID
// empty).
type Event struct {
	Time time.Time
	// Name is the event.name: container.start, container.died, container.oom,
	// container.health_status, container.restart, ...
	Name       string
	Container  Container
	Body       string
	Attributes map[string]string
	// Severity is an OpenTelemetry severity number; died with a non-zero exit and oom
	// are warnings, the rest informational.
	Severity int
}

// EventQueue buffers lifecycle events between the Podman source and the log exporter.
// Events have no journal cursor to resume from, so a full buffer drops (and counts)
// rather than blocks the Podman source.
type EventQueue struct {
	sink    *LogSink
	ch      chan Event
	dropped atomic.Uint64
	onAck   func([]Event)
}

// OnAck sets what is called, from Run's goroutine, with each batch the receiver has
// taken (or refused as invalid, which no retry changes); set it before Run.
func (q *EventQueue) OnAck(f func([]Event)) { q.onAck = f }

// Events returns a queue that exports through s's exporter.
func (s *LogSink) Events(buffer int) *EventQueue {
	return &EventQueue{sink: s, ch: make(chan Event, buffer)}
}

// Add queues an event without blocking.
func (q *EventQueue) Add(e Event) {
	select {
	case q.ch <- e:
	default:
		q.dropped.Add(1)
		q.sink.stats.dropped.Add(1)
	}
}

// Dropped counts events lost to a full buffer.
func (q *EventQueue) Dropped() uint64 { return q.dropped.Load() }

// Run exports queued events in small batches until ctx ends.
func (q *EventQueue) Run(ctx context.Context, started func()) error {
	started()
	for {
		var batch []Event
		select {
		case <-ctx.Done():
			return nil
		case e := <-q.ch:
			batch = append(batch, e)
		}
		// Gather what arrives with it: a container dying and restarting is one batch.
		timer := time.NewTimer(200 * time.Millisecond)
	gather:
		for len(batch) < 256 {
			select {
			case e := <-q.ch:
				batch = append(batch, e)
			case <-timer.C:
				break gather
			case <-ctx.Done():
				break gather
			}
		}
		timer.Stop()
		if err := q.export(ctx, batch); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		if q.onAck != nil {
			q.onAck(batch)
		}
	}
}

func (q *EventQueue) export(ctx context.Context, batch []Event) error {
	s := q.sink
	s.mu.Lock()
	req := s.enc.encodeEvents(s.bufs.Get()[:0], batch, time.Now())
	s.mu.Unlock()
	_, err := s.export(ctx, "events", len(batch), req)
	s.bufs.Put(req[:0])
	return err
}

// encodeEvents appends the request for a batch of lifecycle events, observed now.
func (e *logEncoder) encodeEvents(buf []byte, batch []Event, now time.Time) []byte {
	return e.encode(buf, len(batch), func(i int) *encodedResource {
		c := &batch[i].Container
		// Its own cache key: an event's resource also names the Podman service, which
		// journal records do not know, and the key must too, or one service's resource
		// would be taken for another's.
		key := providerKey{'e', c.Service + "/" + c.ID}
		if res, ok := e.resources[key]; ok {
			return res
		}
		if c.ID == "" {
			return e.newResource(key, nil) // a unit without a container: the host's resource
		}
		return e.newResource(key, c)
	}, func(w *wire, i int) {
		ev := &batch[i]
		w.time(lrTime, ev.Time)
		w.time(lrObservedTime, now)
		sev := ev.Severity
		if sev == 0 {
			sev = int(log.SeverityInfo)
		}
		w.varint(lrSeverityNumber, uint64(sev))
		w.str(lrSeverityText, log.Severity(sev).String())
		body := w.begin(lrBody)
		w.str(anyString, ev.Body)
		w.end(body)
		w.keyValue(lrAttributes, attribute.String("event.name", ev.Name))
		for k, v := range ev.Attributes {
			if k != "event.name" {
				w.keyValue(lrAttributes, attribute.String(k, v))
			}
		}
		w.str(lrEventName, ev.Name)
	})
}

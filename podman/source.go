package podman

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Source runs one Engine per configured Podman service.
type Source struct {
	engines []*Engine
	oom     *OOMLog
	logger  *slog.Logger

	missMu sync.Mutex
	misses map[string]time.Time
}

// NewSource builds an engine per URI with the shared options.
func NewSource(uris []string, o Options) *Source {
	s := &Source{oom: NewOOMLog(), logger: o.Logger, misses: map[string]time.Time{}}
	for _, u := range uris {
		eo := o
		eo.URI = u
		eo.OOMLog = s.oom
		s.engines = append(s.engines, New(eo))
	}
	return s
}

// Snapshots returns the current snapshot of every service, in configuration order.
func (s *Source) Snapshots() []*Snapshot {
	out := make([]*Snapshot, len(s.engines))
	for i, e := range s.engines {
		out[i] = e.Snapshot()
	}
	return out
}

// Run runs every engine until ctx ends. started is called once every engine has made
// its first attempt, reachable or not.
func (s *Source) Run(ctx context.Context, started func()) error {
	var wg, pending sync.WaitGroup
	wg.Go(func() {
		if err := s.oom.Run(ctx, s.logger); err != nil {
			s.logger.Info("kernel log unreadable; OOM kills Podman misses are inferred from /proc/vmstat instead", "err", err)
		}
	})
	pending.Add(len(s.engines))
	for _, e := range s.engines {
		wg.Go(func() {
			var once sync.Once
			_ = e.Run(ctx, func() { once.Do(pending.Done) })
			once.Do(pending.Done) // an engine stopped before its first attempt
		})
	}
	wg.Go(func() {
		pending.Wait()
		if ctx.Err() == nil {
			started()
		}
	})
	wg.Wait()
	return nil
}

// Lookup finds a container in any service, asking the services to inspect it when no
// snapshot has it yet. Misses are remembered for a while, so ids that belong to no
// service (another runtime's conmon) cost one round of inspects, not one per line.
func (s *Source) Lookup(ctx context.Context, id string) (string, *Container, bool) {
	service, c, found, _ := s.LookupAnswered(ctx, id)
	return service, c, found
}

// LookupAnswered is Lookup that also says whether a miss is definite: answered is
// false when a service could not be asked in time (down, still listing, or busy).
func (s *Source) LookupAnswered(ctx context.Context, id string) (service string, c *Container, found, answered bool) {
	for _, e := range s.engines {
		if c, ok := e.Snapshot().Find(id); ok {
			return e.service, c, true, true
		}
	}
	s.missMu.Lock()
	if t, ok := s.misses[id]; ok && time.Since(t) < 5*time.Minute {
		s.missMu.Unlock()
		return "", nil, false, true
	}
	s.missMu.Unlock()
	definite := true
	for _, e := range s.engines {
		// A busy engine (a burst of events being inspected) may take a moment.
		c, found, answered := e.Lookup(ctx, id, 2*time.Second)
		if found {
			return e.service, c, true, true
		}
		definite = definite && answered
	}
	if !definite {
		return "", nil, false, false // a service could not answer: ask again next time
	}
	s.missMu.Lock()
	if len(s.misses) > 10000 {
		clear(s.misses)
	}
	s.misses[id] = time.Now()
	s.missMu.Unlock()
	return "", nil, false, true
}

package podman

import (
	"context"
	"log/slog"
	"sync"
)

// Source runs one Engine per configured Podman service.
type Source struct {
	engines []*Engine
	oom     *OOMLog
	logger  *slog.Logger
}

// NewSource builds an engine per URI with the shared options.
func NewSource(uris []string, o Options) *Source {
	s := &Source{oom: NewOOMLog(), logger: o.Logger}
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

// Package readiness tracks which sources have started, for /readyz, the READY=1
// notification and the podexporter_ready gauge.
package readiness

import (
	"slices"
	"sync"
)

// Tracker is safe for concurrent use. The zero value expects nothing and is ready.
type Tracker struct {
	mu      sync.Mutex
	pending []string
}

// Expect adds sources that must report before the daemon counts as ready.
func (t *Tracker) Expect(names ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = append(t.pending, names...)
}

// Started marks one source as started.
func (t *Tracker) Started(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = slices.DeleteFunc(t.pending, func(n string) bool { return n == name })
}

// Pending lists the sources that have not started yet; empty means ready.
func (t *Tracker) Pending() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.pending)
}

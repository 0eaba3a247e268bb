package systemd

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// fakeManager is a systemd manager in memory: its units, what its generators made,
// and a signal stream the test drives.
type fakeManager struct {
	mu        sync.Mutex
	units     map[string]Unit
	generated []string
	env       []string
	reads     map[string]int // unit property reads, by unit
	refuse    bool
	down      bool
	failCalls bool
	conns     []*fakeBus
}

func newFakeManager() *fakeManager {
	return &fakeManager{units: map[string]Unit{}, reads: map[string]int{}}
}

// set replaces a unit, as systemd's state changing.
func (m *fakeManager) set(u Unit) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.units[u.Name] = u
	if !slices.Contains(m.generated, u.Name) {
		m.generated = append(m.generated, u.Name)
	}
}

func (m *fakeManager) readsOf(name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads[name]
}

// send delivers a signal on the current connection.
func (m *fakeManager) send(s signal) {
	m.mu.Lock()
	b := m.conns[len(m.conns)-1]
	m.mu.Unlock()
	b.ch <- s
}

// drop ends the current connection, as daemon-reexec does.
func (m *fakeManager) drop() {
	m.mu.Lock()
	b := m.conns[len(m.conns)-1]
	m.mu.Unlock()
	b.end()
}

func (m *fakeManager) dial(ctx context.Context, _ []endpoint) (bus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.refuse:
		return nil, errRefused
	case m.down:
		return nil, errors.New("no socket")
	}
	b := &fakeBus{m: m, ch: make(chan signal, 16)}
	m.conns = append(m.conns, b)
	return b, nil
}

type fakeBus struct {
	m    *fakeManager
	ch   chan signal
	once sync.Once
}

func (b *fakeBus) end() { b.once.Do(func() { close(b.ch) }) }

func (b *fakeBus) generatedUnits(context.Context) ([]string, error) {
	b.m.mu.Lock()
	defer b.m.mu.Unlock()
	if b.m.failCalls {
		return nil, errors.New("call failed")
	}
	return slices.Clone(b.m.generated), nil
}

func (b *fakeBus) unit(_ context.Context, name string) (Unit, bool, error) {
	b.m.mu.Lock()
	defer b.m.mu.Unlock()
	b.m.reads[name]++
	u, ok := b.m.units[name]
	if ok {
		u.Kind = quadletKind(u.SourcePath)
	}
	return u, ok, nil
}

func (b *fakeBus) environment(context.Context) ([]string, error) {
	b.m.mu.Lock()
	defer b.m.mu.Unlock()
	return slices.Clone(b.m.env), nil
}

func (b *fakeBus) signals() <-chan signal { return b.ch }
func (b *fakeBus) close()                 { b.end() }

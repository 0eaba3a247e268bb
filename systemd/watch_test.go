package systemd

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// harness runs one watch against a fake manager, with a Quadlet directory of its own.
type harness struct {
	m      *fakeManager
	w      *watch
	dir    string
	mu     sync.Mutex
	events []UnitEvent
	stop   func()
}

func newHarness(t *testing.T, m *fakeManager, uid int) *harness {
	t.Helper()
	h := &harness{m: m, dir: t.TempDir()}
	o := &Options{
		ResyncInterval: time.Hour,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnEvent: func(e UnitEvent) {
			h.mu.Lock()
			h.events = append(h.events, e)
			h.mu.Unlock()
		},
		Reason: func(_ context.Context, _ int, path string) string {
			return "converting " + filepath.Base(path) + ": bad key"
		},
		dial: m.dial,
		dirs: func(int, string, string) []string { return []string{h.dir} },
	}
	name := "system"
	if uid >= 0 {
		name = "user-1000"
	}
	h.w = newWatch(name, uid, nil, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.w.run(ctx) }()
	h.stop = func() { cancel(); <-done }
	t.Cleanup(h.stop)
	return h
}

func (h *harness) snap() *Snapshot { return h.w.cur.Load() }

func (h *harness) eventsOf(action string) []UnitEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []UnitEvent
	for _, e := range h.events {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func at(sec int64) time.Time { return time.Unix(sec, 0) }

func web(state string, restarts uint64, change int64) Unit {
	return Unit{Name: "web.service", SourcePath: "/etc/containers/systemd/web.container", ActiveState: state, Result: "success", Restart: "on-failure", NRestarts: restarts, StateChange: at(change)}
}

func TestWatchReadsOnlyQuadletUnits(t *testing.T) {
	m := newFakeManager()
	m.set(web("active", 0, 100))
	m.set(Unit{Name: "db-pod.service", SourcePath: "/etc/containers/systemd/db.pod", ActiveState: "inactive"})
	m.set(Unit{Name: "getty-generated.service", SourcePath: "/etc/fstab", ActiveState: "active"}) // another generator's
	h := newHarness(t, m, -1)
	waitFor(t, "the first read", func() bool { return h.snap().Up })
	s := h.snap()
	if len(s.Units) != 2 {
		t.Fatalf("units %+v, want web.service and db-pod.service only", s.Units)
	}
	for name, kind := range map[string]string{"web.service": "container", "db-pod.service": "pod"} {
		u, ok := s.Find(name)
		if !ok || u.Kind != kind {
			t.Errorf("%s: found %v, kind %q; want kind %q", name, ok, u.Kind, kind)
		}
	}
	if s.Resyncs["start"] != 1 {
		t.Errorf("resyncs %v, want start 1", s.Resyncs)
	}
	if n := len(h.eventsOf("started")) + len(h.eventsOf("failed")); n != 0 {
		t.Errorf("%d events from the first read; there is no before to compare with", n)
	}
}

func TestWatchFollowsSignals(t *testing.T) {
	m := newFakeManager()
	m.set(web("active", 0, 100))
	h := newHarness(t, m, -1)
	waitFor(t, "the first read", func() bool { return h.snap().Up })

	// Two restarts between reads are one event that says 2; then the start limit.
	m.set(web("activating", 2, 110))
	m.send(signal{unit: "web.service"})
	waitFor(t, "the restart", func() bool { u, _ := h.snap().Find("web.service"); return u.NRestarts == 2 })
	failed := web("failed", 2, 120)
	failed.Result, failed.ExecMainCode, failed.ExecMainStatus = "exit-code", 1, 1
	m.set(failed)
	m.send(signal{unit: "web.service"})
	m.send(signal{unit: "web.service"}) // a burst: read once
	waitFor(t, "the failure", func() bool { return len(h.eventsOf("failed")) == 1 })

	r := h.eventsOf("restarted")
	if len(r) != 1 || r[0].Restarts != 2 || r[0].Manager != "system" {
		t.Errorf("restarted events %+v, want one with Restarts 2 on system", r)
	}
	f := h.eventsOf("failed")[0]
	if f.Unit.Result != "exit-code" || f.Unit.ExecMainStatus != 1 || !f.Time.Equal(at(120)) {
		t.Errorf("failed event %+v, want result exit-code, status 1, at the state change", f)
	}
	// Signals for units that are not Quadlet's cost nothing.
	m.send(signal{unit: "sshd.service"})
	time.Sleep(3 * coalesce)
	if n := m.readsOf("sshd.service"); n != 0 {
		t.Errorf("read sshd.service %d times", n)
	}
	// A unit systemd unloaded is not read (reading would load it again, forever).
	before := m.readsOf("web.service")
	m.send(signal{unit: "web.service", removed: true})
	time.Sleep(3 * coalesce)
	if n := m.readsOf("web.service"); n != before {
		t.Errorf("UnitRemoved made %d reads", n-before)
	}
	// Started and stopped.
	m.set(web("active", 0, 130))
	m.send(signal{unit: "web.service"})
	waitFor(t, "the start", func() bool { return len(h.eventsOf("started")) == 1 })
	m.set(web("inactive", 0, 140))
	m.send(signal{unit: "web.service"})
	waitFor(t, "the stop", func() bool { return len(h.eventsOf("stopped")) == 1 })
	if n := len(h.eventsOf("failed")); n != 1 {
		t.Errorf("%d failed events, want each failure once", n)
	}
}

func TestWatchOrphansAndReload(t *testing.T) {
	m := newFakeManager()
	h := newHarness(t, m, -1)
	waitFor(t, "the first read", func() bool { return h.snap().Up })
	good := filepath.Join(h.dir, "app.container")
	bad := filepath.Join(h.dir, "broken.container")
	for _, f := range []string{good, bad, filepath.Join(h.dir, "notes.txt")} {
		if err := os.WriteFile(f, []byte("[Container]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// daemon-reload: the generator made app.service, not broken's.
	m.set(Unit{Name: "app.service", SourcePath: good, ActiveState: "inactive"})
	m.send(signal{reloaded: true})
	waitFor(t, "the reload", func() bool { return h.snap().Resyncs["reload"] == 1 })
	s := h.snap()
	if len(s.Orphans) != 1 || s.Orphans[0].Path != bad || s.Orphans[0].Kind != "container" || s.Orphans[0].Reason != "converting broken.container: bad key" {
		t.Fatalf("orphans %+v, want only %s with the generator's reason", s.Orphans, bad)
	}
	if _, ok := s.Find("app.service"); !ok {
		t.Error("app.service not read after the reload")
	}
}

func TestWatchReconnects(t *testing.T) {
	m := newFakeManager()
	m.set(web("active", 0, 100))
	h := newHarness(t, m, -1)
	waitFor(t, "the first read", func() bool { return h.snap().Up })
	m.mu.Lock()
	m.down = true
	m.mu.Unlock()
	m.drop()
	waitFor(t, "down and a failed connect", func() bool { return !h.snap().Up && h.snap().Errors["connect"] > 0 })
	if _, ok := h.snap().Find("web.service"); !ok {
		t.Error("the last units are gone while the manager is unreachable")
	}
	// It failed while we were away: told once the connection is back.
	m.set(web("failed", 0, 200))
	m.mu.Lock()
	m.down = false
	m.mu.Unlock()
	waitFor(t, "reconnected", func() bool { return h.snap().Up && h.snap().Reconnects == 1 })
	s := h.snap()
	if s.Resyncs["reconnect"] != 1 || s.Errors["connect"] == 0 {
		t.Errorf("resyncs %v errors %v, want one reconnect resync and the failed connects counted", s.Resyncs, s.Errors)
	}
	waitFor(t, "the failure seen across the outage", func() bool { return len(h.eventsOf("failed")) == 1 })
}

func TestWatchRefused(t *testing.T) {
	m := newFakeManager()
	m.refuse = true
	h := newHarness(t, m, 1000)
	waitFor(t, "the refusal", func() bool { return h.snap().Errors["refused"] == 1 })
	if s := h.snap(); s.Up || s.Manager != "user-1000" {
		t.Errorf("snapshot %+v, want user-1000 down", s)
	}
}

func TestUnitEvents(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new Unit
		want     []string
	}{
		{"nothing changed", web("active", 1, 10), web("active", 1, 10), nil},
		{"started", web("activating", 0, 10), web("active", 0, 11), []string{"started"}},
		{"reload is no start", web("reloading", 0, 10), web("active", 0, 11), nil},
		{"stopped", web("active", 0, 10), web("inactive", 0, 11), []string{"stopped"}},
		{"reset-failed is no stop", web("failed", 0, 10), web("inactive", 0, 11), nil},
		{"failed", web("active", 0, 10), web("failed", 0, 11), []string{"failed"}},
		{"failed again after a start between reads", web("failed", 0, 10), web("failed", 0, 20), []string{"failed"}},
		{"restarted", web("active", 0, 10), web("activating", 1, 11), []string{"restarted"}},
		{"restart and failure", web("active", 0, 10), web("failed", 3, 11), []string{"restarted", "failed"}},
		{"a manual start resets NRestarts", web("failed", 3, 10), web("active", 0, 11), []string{"started"}},
		{"reset, then restarted between reads", web("failed", 3, 10), web("activating", 1, 11), []string{"restarted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range unitEvents(tc.old, tc.new) {
				got = append(got, e.Action)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("events %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("events %v, want %v", got, tc.want)
				}
			}
		})
	}
}

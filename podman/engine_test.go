package podman

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containers/podman/v5/libpod/define"
	"github.com/containers/podman/v5/pkg/domain/entities/types"
	"github.com/docker/docker/api/types/events"

	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/podman/podmanconf"
)

// The engine's logic against an in-memory Podman (fakeAPI): milliseconds per test.
// The same behaviours are tested against the real services in collectors/ and
// cmd/podexporter.

func id(n int) string { return fmt.Sprintf("%064x", n) }

// engineRun runs an engine on f until the test ends and records the events it emits.
type engineRun struct {
	e      *Engine
	mu     sync.Mutex
	events []LifecycleEvent
}

func startEngine(t *testing.T, f *fakeAPI, procRoot string) *engineRun {
	t.Helper()
	return startEngineLogging(t, f, procRoot, io.Discard, 50*time.Millisecond)
}

func startEngineLogging(t *testing.T, f *fakeAPI, procRoot string, log io.Writer, statsEvery time.Duration) *engineRun {
	t.Helper()
	r := &engineRun{}
	r.e = New(Options{
		URI: "unix:///run/podman/podman.sock", Dial: f.dial, ProcRoot: procRoot,
		StatsInterval: statsEvery, SlowInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(log, nil)),
		OnEvent: func(le LifecycleEvent) {
			r.mu.Lock()
			r.events = append(r.events, le)
			r.mu.Unlock()
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	started := make(chan struct{})
	var once sync.Once
	go func() { defer close(done); _ = r.e.Run(ctx, func() { once.Do(func() { close(started) }) }) }()
	t.Cleanup(func() { cancel(); <-done })
	<-started
	return r
}

// eventsOf returns the actions emitted for container id.
func (r *engineRun) eventsOf(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, le := range r.events {
		if le.Container.ID == id {
			out = append(out, le.Action)
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func procRoot(t *testing.T, oomKills int) string {
	t.Helper()
	dir := t.TempDir()
	setOOMKills(t, dir, oomKills)
	return dir
}

func setOOMKills(t *testing.T, dir string, n int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "vmstat"), fmt.Appendf(nil, "pgfault 1\noom_kill %d\n", n), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Events mark containers for a new look; the snapshot follows within a flush, and
// lifecycle events go out once, with the container as the service knows it.
func TestEngineEventsToSnapshot(t *testing.T) {
	f := newFakeAPI()
	f.put(id(1), "web", "running", 0, time.Time{})
	r := startEngine(t, f, procRoot(t, 0))
	waitFor(t, "web in the first snapshot", func() bool { _, ok := r.e.Snapshot().Find(id(1)); return ok })

	f.put(id(2), "db", "running", 0, time.Time{})
	f.event("start", id(2), "db", time.Now())
	waitFor(t, "db in the snapshot", func() bool { _, ok := r.e.Snapshot().Find(id(2)); return ok })
	if got := r.eventsOf(id(2)); len(got) != 1 || got[0] != "start" {
		t.Fatalf("events of db: %v, want one start", got)
	}

	f.put(id(2), "db", "exited", 3, time.Now())
	f.event("died", id(2), "db", time.Now())
	waitFor(t, "db exited in the snapshot", func() bool { c, _ := r.e.Snapshot().Find(id(2)); return c != nil && c.State == "exited" })
	r.mu.Lock()
	last := r.events[len(r.events)-1]
	r.mu.Unlock()
	if last.Action != "died" || last.Container.Name != "db" || last.Service != "rootful" {
		t.Fatalf("last event %+v, want db died on rootful", last)
	}
}

// A reader can meet a container's first line between its first event being inspected
// and the next flush publishing it; Lookup must find it rather than report (and
// remember) a miss. This failed in CI as an unlabelled log line.
func TestEngineLookupBeforeFlush(t *testing.T) {
	f := newFakeAPI()
	r := startEngine(t, f, procRoot(t, 0))
	waitFor(t, "the engine serving", func() bool { return r.e.serving.Load() })
	inspects := func() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls["inspect"] }
	before := inspects()
	f.put(id(3), "fresh", "running", 0, time.Time{})
	f.event("start", id(3), "fresh", time.Now())
	waitFor(t, "the first event inspected", func() bool { return inspects() > before })
	c, found, answered := r.e.Lookup(context.Background(), id(3), 2*time.Second)
	if !found || !answered || c.Name != "fresh" {
		t.Fatalf("Lookup right after the first event: found=%v answered=%v, want the container", found, answered)
	}
}

// A container the service does not have (another service's, read from the shared
// journal) costs one inspect, emits nothing and is counted; a container this service
// removed still resolves for its last events.
func TestEngineEventOwnership(t *testing.T) {
	f := newFakeAPI()
	f.put(id(1), "mine", "running", 0, time.Time{})
	r := startEngine(t, f, procRoot(t, 0))
	waitFor(t, "mine in the snapshot", func() bool { _, ok := r.e.Snapshot().Find(id(1)); return ok })

	now := time.Now()
	for i, action := range []string{"start", "died", "remove"} {
		f.event(action, id(9), "theirs", now.Add(time.Duration(i)*time.Millisecond))
	}
	f.mu.Lock()
	delete(f.containers, id(1))
	f.mu.Unlock()
	f.event("died", id(1), "mine", now.Add(10*time.Millisecond))
	f.event("remove", id(1), "mine", now.Add(11*time.Millisecond))
	waitFor(t, "mine removed", func() bool { _, ok := r.e.Snapshot().Find(id(1)); return !ok })
	waitFor(t, "the foreign events counted", func() bool { return r.e.Snapshot().ForeignEvents == 3 })

	if got := r.eventsOf(id(9)); len(got) != 0 {
		t.Fatalf("events of another service's container: %v", got)
	}
	if got := r.eventsOf(id(1)); strings.Join(got, ",") != "died,remove" {
		t.Fatalf("events of mine: %v, want died,remove", got)
	}
	f.mu.Lock()
	inspects := f.calls["inspect"]
	f.mu.Unlock()
	if inspects > 4 { // mine at the list, theirs once, mine after died (gone)
		t.Fatalf("%d inspects; the foreign container should cost one", inspects)
	}
}

// A container's first event is looked at while the container most likely still
// exists, even when the engine's goroutine is in a slow call meanwhile (Podman 5 took
// one to three seconds to answer info on a loaded host, asked at the image event every
// podman run writes; stats, sizes and relists can take as long). A container this
// service ran and removed within that time was taken for another service's, and all
// its events were left out: the Podman 5 container removed in TestEventsOncePerService.
func TestEngineFirstLookWhileBusy(t *testing.T) {
	f := newFakeAPI()
	r := startEngine(t, f, procRoot(t, 0))
	waitFor(t, "the engine serving", func() bool { return r.e.serving.Load() })

	release := f.stall("images")
	t.Cleanup(release)
	images := f.callCount("images")
	f.imageEvent("pull", time.Now())
	waitFor(t, "the engine in the stalled call", func() bool { return f.callCount("images") > images })

	inspects := f.callCount("inspect")
	now := time.Now()
	f.put(id(5), "brief", "running", 0, time.Time{})
	f.event("create", id(5), "brief", now)
	f.event("start", id(5), "brief", now.Add(time.Millisecond))
	// The container lives a second, as podman run -d ... sleep 0.3 does on a loaded host.
	for deadline := time.Now().Add(time.Second); f.callCount("inspect") == inspects && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	f.put(id(5), "brief", "exited", 0, time.Now())
	f.event("died", id(5), "brief", now.Add(2*time.Millisecond))
	f.mu.Lock()
	delete(f.containers, id(5))
	f.mu.Unlock()
	f.event("remove", id(5), "brief", now.Add(3*time.Millisecond))
	release()

	waitFor(t, "the events handled", func() bool {
		return len(r.eventsOf(id(5))) == 3 || r.e.Snapshot().ForeignEvents > 0
	})
	if got := strings.Join(r.eventsOf(id(5)), ","); got != "start,died,remove" {
		t.Fatalf("events of a container this service ran and removed while the engine was busy: %q, want start,died,remove (%d counted as another service's)",
			got, r.e.Snapshot().ForeignEvents)
	}
}

// Image, volume and network events re-list those, not system info: nothing in it
// changes with them, and Podman 5 takes seconds to answer it on a loaded host, during
// which the engine applies no event.
func TestEngineImageEventSkipsInfo(t *testing.T) {
	f := newFakeAPI()
	r := startEngine(t, f, procRoot(t, 0))
	waitFor(t, "the engine serving", func() bool { return r.e.serving.Load() })
	info, images := f.callCount("info"), f.callCount("images")
	f.imageEvent("pull", time.Now())
	waitFor(t, "the images re-listed", func() bool { return f.callCount("images") > images })
	if n := f.callCount("info") - info; n != 0 {
		t.Fatalf("%d info calls for an image event", n)
	}
}

// One container whose stats fail must not blank the others: Podman fails the shared
// call, so the engine asks for the broken one alone.
func TestEngineStatsFallback(t *testing.T) {
	f := newFakeAPI()
	f.put(id(1), "ok", "running", 0, time.Time{})
	f.put(id(2), "broken", "running", 0, time.Time{})
	f.mu.Lock()
	f.statsFail[id(2)] = true
	f.mu.Unlock()
	r := startEngine(t, f, procRoot(t, 0))
	waitFor(t, "stats of the healthy container", func() bool {
		c, _ := r.e.Snapshot().Find(id(1))
		return c != nil && c.Stats != nil && c.Stats.MemUsage == 1<<20
	})
	if c, _ := r.e.Snapshot().Find(id(2)); c == nil || c.Stats != nil {
		t.Fatalf("the broken container: %+v, want no stats", c)
	}
	if r.e.Snapshot().Errors["stats"] == 0 {
		t.Fatal("the failed stats calls are not counted")
	}
}

// A container whose stats fail once because it is stopping is no broken container:
// nothing is logged for it, however many come and go; one that stays broken is
// logged once.
func TestEngineStatsWarnsOnce(t *testing.T) {
	f := newFakeAPI()
	f.put(id(1), "ok", "running", 0, time.Time{})
	var log testenv.SyncBuffer
	// Stats rounds far apart next to the 100 ms in which events are applied, as the
	// default 10 s are: a stopping container is seen failing in one round only.
	const round = 400 * time.Millisecond
	r := startEngineLogging(t, f, procRoot(t, 0), &log, round)
	waitFor(t, "ok in the snapshot", func() bool { _, ok := r.e.Snapshot().Find(id(1)); return ok })
	for n := 10; n < 15; n++ {
		f.put(id(n), "stopping", "running", 0, time.Time{})
		f.event("start", id(n), "stopping", time.Now())
		waitFor(t, "the churned container known", func() bool { _, ok := r.e.Snapshot().Find(id(n)); return ok })
		f.mu.Lock()
		f.statsFail[id(n)] = true
		rounds := f.calls["stats"]
		f.mu.Unlock()
		waitFor(t, "a stats round with the stopping container", func() bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.calls["stats"] > rounds
		})
		f.put(id(n), "stopping", "exited", 0, time.Now())
		f.event("died", id(n), "stopping", time.Now())
		waitFor(t, "the churned container exited", func() bool { c, _ := r.e.Snapshot().Find(id(n)); return c != nil && c.State == "exited" })
	}
	if strings.Contains(log.String(), "cannot give stats") {
		t.Fatalf("stopping containers were logged as broken:\n%s", log.String())
	}
	f.mu.Lock()
	f.statsFail[id(1)] = true
	f.mu.Unlock()
	time.Sleep(3 * round)
	if n := strings.Count(log.String(), "cannot give stats"); n != 1 {
		t.Fatalf("%d warnings for one broken container, want 1:\n%s", n, log.String())
	}
}

// A container that died of SIGKILL while the kernel's OOM counter moved was
// OOM-killed, although Podman (4.3 on cgroup v1) does not say so: one oom event.
func TestEngineOOMInference(t *testing.T) {
	f := newFakeAPI()
	f.put(id(1), "hog", "running", 0, time.Time{})
	proc := procRoot(t, 5)
	r := startEngine(t, f, proc)
	waitFor(t, "hog in the snapshot", func() bool { _, ok := r.e.Snapshot().Find(id(1)); return ok })
	time.Sleep(60 * time.Millisecond) // a counter reading from before the kill

	setOOMKills(t, proc, 6)
	f.put(id(1), "hog", "exited", 137, time.Now())
	f.event("died", id(1), "hog", time.Now())
	waitFor(t, "hog OOM-killed in the snapshot", func() bool { c, _ := r.e.Snapshot().Find(id(1)); return c != nil && c.OOMKilled })
	if got := strings.Join(r.eventsOf(id(1)), ","); got != "died,oom" {
		t.Fatalf("events %s, want died,oom", got)
	}

	// A SIGKILL without the counter moving is not an OOM kill.
	f.put(id(2), "killed", "running", 0, time.Time{})
	f.event("start", id(2), "killed", time.Now())
	waitFor(t, "killed in the snapshot", func() bool { _, ok := r.e.Snapshot().Find(id(2)); return ok })
	time.Sleep(60 * time.Millisecond)
	f.put(id(2), "killed", "exited", 137, time.Now())
	f.event("died", id(2), "killed", time.Now())
	waitFor(t, "killed exited", func() bool { c, _ := r.e.Snapshot().Find(id(2)); return c != nil && c.State == "exited" })
	if c, _ := r.e.Snapshot().Find(id(2)); c.OOMKilled {
		t.Fatal("a plain SIGKILL was taken for an OOM kill")
	}
}

// A subscription that resumes at the last event's time gets that instant again:
// what was seen is dropped, what is new at the same instant is not.
func TestFirstSight(t *testing.T) {
	e := New(Options{URI: "unix:///x.sock", Logger: slog.New(slog.DiscardHandler)})
	ev := func(action, id string, nano int64) types.Event {
		return types.Event{Message: events.Message{Type: "container", Action: events.Action(action), TimeNano: nano, Actor: events.Actor{ID: id}}}
	}
	steps := []struct {
		ev   types.Event
		want bool
	}{
		{ev("start", "a", 100), true},
		{ev("died", "a", 200), true},
		{ev("start", "b", 200), true},
		// The resubscription replays from 200.
		{ev("died", "a", 200), false},
		{ev("start", "b", 200), false},
		{ev("remove", "a", 200), true},
		{ev("start", "a", 100), false},
		{ev("remove", "b", 300), true},
		// Out of time order, as two podman processes write them: still new.
		{ev("health_status", "a", 250), true},
		{ev("health_status", "a", 250), false},
	}
	for i, s := range steps {
		if got := e.firstSight(s.ev); got != s.want {
			t.Fatalf("step %d (%s %s at %d): new %v, want %v", i, s.ev.Action, s.ev.Actor.ID, s.ev.TimeNano, got, s.want)
		}
	}
}

// A container whose first event reaches the engine after it was OOM-killed (its
// service's event stream is slow, or it lived briefly) still gives one oom event.
func TestEngineOOMAtFirstSight(t *testing.T) {
	f := newFakeAPI()
	r := startEngine(t, f, procRoot(t, 0))
	f.put(id(3), "brief", "exited", 137, time.Now())
	f.mu.Lock()
	f.containers[id(3)].State.OOMKilled = true
	f.mu.Unlock()
	now := time.Now()
	f.event("start", id(3), "brief", now.Add(-time.Second))
	f.event("died", id(3), "brief", now)
	waitFor(t, "brief in the snapshot", func() bool { c, _ := r.e.Snapshot().Find(id(3)); return c != nil && c.OOMKilled })
	time.Sleep(150 * time.Millisecond) // one flush: a second look must not repeat it
	if got := strings.Join(r.eventsOf(id(3)), ","); got != "oom,start,died" {
		t.Fatalf("events %s, want oom once, then start and died", got)
	}
}

// A container whose first check ran before its first event reached the engine
// (Podman 6 runs it at start) shows "healthy" at its first look: the change from
// "starting" still gives one health_status event, and a later look at the same
// status none.
func TestEngineHealthAtFirstSight(t *testing.T) {
	for _, tc := range []struct {
		status, want string
	}{
		{"healthy", "health_status,start"},
		{"unhealthy", "health_status,start"},
		{"starting", "start"},
		{"", "start"}, // no health check
	} {
		t.Run(tc.status, func(t *testing.T) {
			f := newFakeAPI()
			r := startEngine(t, f, procRoot(t, 0))
			f.put(id(4), "checked", "running", 0, time.Time{})
			if tc.status != "" {
				f.mu.Lock()
				f.containers[id(4)].State.Health = &define.HealthCheckResults{Status: tc.status}
				f.mu.Unlock()
			}
			f.event("start", id(4), "checked", time.Now())
			waitFor(t, "checked in the snapshot", func() bool { c, _ := r.e.Snapshot().Find(id(4)); return c != nil })
			f.event("health_status", id(4), "checked", time.Now())
			time.Sleep(150 * time.Millisecond) // one flush: the second look must not repeat it
			if got := strings.Join(r.eventsOf(id(4)), ","); got != tc.want {
				t.Fatalf("events %s, want %s", got, tc.want)
			}
		})
	}
}

// TestOptionsFrom: every setting the engines use is carried over from the settings.
func TestOptionsFrom(t *testing.T) {
	o := OptionsFrom(podmanconf.Settings{StatsInterval: 10 * time.Second, SlowInterval: time.Minute,
		SizeInterval: 5 * time.Minute, MaxContainers: 7, ProcRoot: "/host/proc"})
	if o.StatsInterval != 10*time.Second || o.SlowInterval != time.Minute || o.SizeInterval != 5*time.Minute ||
		o.MaxContainers != 7 || o.ProcRoot != "/host/proc" {
		t.Errorf("OptionsFrom = %+v", o)
	}
}

// Events that never pause (other services' images and networks changing every few
// milliseconds on a busy host) do not hold a container's change back: the pass that
// applies it runs flushDelay after its first event however many follow.
func TestEngineAppliesEventsUnderAStream(t *testing.T) {
	f := newFakeAPI()
	f.put(id(5), "checked", "running", 0, time.Time{})
	r := startEngine(t, f, procRoot(t, 0))
	waitFor(t, "checked in the snapshot", func() bool { _, ok := r.e.Snapshot().Find(id(5)); return ok })

	stop := make(chan struct{})
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case f.feed <- types.Event{Message: events.Message{Type: "image", Action: "tag", TimeNano: time.Now().UnixNano(),
				Actor: events.Actor{ID: fmt.Sprintf("img%d", n)}}}:
			}
			time.Sleep(flushDelay / 10)
		}
	}()
	defer func() { close(stop); <-streamed }()

	time.Sleep(3 * flushDelay) // the stream is under way
	f.mu.Lock()
	f.containers[id(5)].State.Health = &define.HealthCheckResults{Status: "unhealthy"}
	f.mu.Unlock()
	f.event("health_status", id(5), "checked", time.Now())
	waitFor(t, "the health change applied while events keep coming", func() bool {
		return strings.Contains(strings.Join(r.eventsOf(id(5)), ","), "health_status")
	})
}

package podman

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/podexporter/podexporter/podman/podmanconf"
)

// startSelecting runs an engine on f with the container selection of settings.
func startSelecting(t *testing.T, f *fakeAPI, s podmanconf.Settings) *Engine {
	t.Helper()
	sel, err := s.Selector()
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{
		URI: "unix:///run/podman/podman.sock", Dial: f.dial, ProcRoot: procRoot(t, 0),
		StatsInterval: 20 * time.Millisecond, SlowInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Select: sel,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	started := make(chan struct{})
	var once sync.Once
	go func() { defer close(done); _ = e.Run(ctx, func() { once.Do(func() { close(started) }) }) }()
	t.Cleanup(func() { cancel(); <-done })
	<-started
	return e
}

// TestEngineSelection: a container the selection leaves out stays in the snapshot,
// marked, and is never named in a stats call, so it has no stats, and no cgroup or
// /proc reading (those complete a stats answer); its neighbours are polled as ever.
// A rename that makes a container excluded drops its stats from then on.
func TestEngineSelection(t *testing.T) {
	f := newFakeAPI()
	const (
		kept = iota + 1
		optedOut
		byName
		infra
		byImage
		byLabel
		broken
	)
	names := map[int]string{kept: "web", optedOut: "noisy", byName: "db-1", infra: "abc-infra", byImage: "legacy", byLabel: "batch", broken: "db-broken"}
	for n, name := range names {
		f.put(id(n), name, "running", 0, time.Time{})
	}
	f.mu.Lock()
	f.containers[id(optedOut)].Config.Labels = map[string]string{podmanconf.OptOutLabel: "false"}
	f.containers[id(infra)].IsInfra = true
	f.containers[id(byImage)].ImageName = "localhost/legacy-app:1"
	f.containers[id(byLabel)].Config.Labels = map[string]string{"tier": "batch"}
	// Podman fails a whole stats call for one broken container: an excluded one
	// must never get the chance.
	f.statsFail[id(broken)] = true
	f.mu.Unlock()

	e := startSelecting(t, f, podmanconf.Settings{ExcludeContainer: "^db-", ExcludeImage: `/legacy-`, ExcludeLabels: []string{"tier=batch"}, ExcludeInfra: true})
	waitFor(t, "three stats rounds", func() bool { return f.callCount("stats") >= 3 })
	waitFor(t, "web's stats", func() bool { c, ok := e.Snapshot().Find(id(kept)); return ok && c.Stats != nil })

	s := e.Snapshot()
	if len(s.Containers) != len(names) {
		t.Fatalf("snapshot holds %d containers, want all %d: the inventory keeps the excluded ones", len(s.Containers), len(names))
	}
	if s.ContainersExcluded != len(names)-1 {
		t.Errorf("ContainersExcluded = %d, want %d", s.ContainersExcluded, len(names)-1)
	}
	f.mu.Lock()
	asked := make(map[string]int, len(f.asked))
	for k, v := range f.asked {
		asked[k] = v
	}
	f.mu.Unlock()
	for n, name := range names {
		c, _ := s.Find(id(n))
		if want := n != kept; c.Excluded != want {
			t.Errorf("%s: Excluded = %v, want %v", name, c.Excluded, want)
		}
		if n == kept {
			if asked[id(n)] < 3 {
				t.Errorf("web was named in %d stats calls, want every round's", asked[id(n)])
			}
			continue
		}
		if asked[id(n)] != 0 || c.Stats != nil {
			t.Errorf("%s (excluded): named in %d stats calls, stats %+v; want none", name, asked[id(n)], c.Stats)
		}
	}
	if c, _ := s.Find(id(infra)); !c.Infra {
		t.Error("the infra container is not marked Infra")
	}
	if n := f.callCount("stats"); n > asked[id(kept)] {
		t.Errorf("%d stats calls for %d rounds: the broken excluded container split the call", n, asked[id(kept)])
	}

	// Renamed into the exclusion: from the next look on, it is left out too.
	f.mu.Lock()
	f.containers[id(kept)].Name = "db-web"
	f.mu.Unlock()
	f.event("rename", id(kept), "db-web", time.Now())
	waitFor(t, "the renamed container excluded", func() bool {
		c, _ := e.Snapshot().Find(id(kept))
		return c.Excluded && c.Stats == nil
	})
	f.mu.Lock()
	before := f.asked[id(kept)]
	f.mu.Unlock()
	rounds := f.callCount("stats")
	time.Sleep(10 * 20 * time.Millisecond) // ten stats intervals
	f.mu.Lock()
	after := f.asked[id(kept)]
	f.mu.Unlock()
	// One call may have been out when the rename was applied; with every container
	// left out there is nothing to ask, and no call at all.
	if after > before+1 || f.callCount("stats") > rounds+1 {
		t.Errorf("with every container excluded: %d more stats calls, %d naming the renamed one; want none", f.callCount("stats")-rounds, after-before)
	}
}

// The container cap keeps the containers the metrics show before those they leave
// out, newest first within each.
func TestPublishCapsShownFirst(t *testing.T) {
	e := New(Options{URI: "unix:///run/podman/podman.sock", MaxContainers: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	base := time.Now()
	for i := range 4 {
		id := fmt.Sprintf("%064d", i)
		// The two newest are excluded.
		e.containers[id] = &Container{ID: id, Created: base.Add(time.Duration(i) * time.Second), State: "running", Excluded: i >= 2}
	}
	e.publish(true)
	s := e.Snapshot()
	if len(s.Containers) != 2 || s.Containers[0].ID != fmt.Sprintf("%064d", 1) || s.Containers[1].ID != fmt.Sprintf("%064d", 0) {
		t.Fatalf("kept %v, want the two shown containers, newest first", s.Containers)
	}
	if s.ContainersExcluded != 2 || s.ContainersDropped != 2 {
		t.Errorf("excluded %d, dropped %d; want 2 and 2", s.ContainersExcluded, s.ContainersDropped)
	}
}

// OptionsFrom carries the selection over, with the opt-out label always on.
func TestOptionsFromSelection(t *testing.T) {
	o := OptionsFrom(podmanconf.Settings{IncludeLabels: []string{"app=shop"}, ExcludeInfra: true})
	if o.Select == nil || len(o.Select.IncludeLabels) != 1 || !o.Select.ExcludeInfra || o.Select.OptOut != podmanconf.OptOutLabel {
		t.Errorf("Select = %+v", o.Select)
	}
}

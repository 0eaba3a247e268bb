package podman

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/containers/podman/v5/libpod/define"
	"github.com/containers/podman/v5/pkg/domain/entities/types"
	"github.com/containers/podman/v5/pkg/errorhandling"
)

// The pacer on a fake clock: a size round every minute for a day, each taking d.
// Whatever d, Podman spends at most sizeShare of the day measuring; rounds shorter
// than that share of the interval run at every tick.
func TestSizePacerShare(t *testing.T) {
	const interval, day = time.Minute, 24 * time.Hour
	for _, d := range []time.Duration{100 * time.Millisecond, time.Second, 10 * time.Second, 45 * time.Second, 10 * time.Minute} {
		var p sizePacer
		clock := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
		end := clock.Add(day)
		var busyUntil time.Time
		var measuring time.Duration
		rounds, ticks := 0, 0
		for now := clock; now.Before(end); now = now.Add(interval) {
			ticks++
			if now.Before(busyUntil) || !p.due(now) {
				continue
			}
			rounds++
			busyUntil = now.Add(d)
			measuring += d
			p.done(now, busyUntil)
		}
		// Counted to where the last round's pause ends: a round begun late in the day
		// is paid for by the pause after it.
		share := measuring.Seconds() / max(day, p.next.Sub(clock)).Seconds()
		t.Logf("round of %v: %d of %d ticks measured, %.2f%% of the time", d, rounds, ticks, 100*share)
		if share > sizeShare+1e-9 {
			t.Errorf("round of %v: Podman measured %.2f%% of the time, more than %.0f%%", d, 100*share, 100*sizeShare)
		}
		if float64(d) <= sizeShare*float64(interval)*(1-sizeShare) && rounds != ticks {
			t.Errorf("round of %v: measured at %d of %d ticks, want every tick", d, rounds, ticks)
		}
	}
}

// startSizedEngine runs an engine on f with size rounds every sizeEvery.
func startSizedEngine(t *testing.T, f *fakeAPI, sizeEvery time.Duration) *Engine {
	t.Helper()
	e := New(Options{
		URI: "unix:///run/podman/podman.sock", Dial: f.dial, ProcRoot: procRoot(t, 0),
		StatsInterval: 20 * time.Millisecond, SlowInterval: time.Hour, SizeInterval: sizeEvery,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
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

// A size round that Podman takes long over does not hold the engine up (stats go on),
// is not asked again while it runs, and is followed by a pause of 19 times its
// length; its answers then fill the snapshot: container layers, images, volumes.
func TestEngineSizeRoundBeside(t *testing.T) {
	f := newFakeAPI()
	f.put(id(1), "web", "running", 0, time.Time{})
	f.volumes = []*types.VolumeListReport{{VolumeConfigResponse: types.VolumeConfigResponse{InspectVolumeData: define.InspectVolumeData{Name: "data"}}},
		{VolumeConfigResponse: types.VolumeConfigResponse{InspectVolumeData: define.InspectVolumeData{Name: "new"}}}}
	f.df = &types.SystemDfReport{
		ImagesSize: 5000,
		Images:     []*types.SystemDfImageReport{{ImageID: "i1", Size: 3000, UniqueSize: 1000, Containers: 1}, {ImageID: "i2", Size: 3000, UniqueSize: 1000}},
		Containers: []*types.SystemDfContainerReport{{ContainerID: id(1), RWSize: 4096, Size: 3000 + 4096}, {ContainerID: id(9), RWSize: 1}},
		Volumes:    []*types.SystemDfVolumeReport{{VolumeName: "data", Size: 12345}, {VolumeName: "gone", Size: 1}},
	}
	release := f.stall("df")
	defer release()
	e := startSizedEngine(t, f, 10*time.Millisecond)
	waitFor(t, "the size round in Podman", func() bool { return f.callCount("df") == 1 })
	stats := f.callCount("stats")
	waitFor(t, "stats while the size round runs", func() bool { return f.callCount("stats") >= stats+5 })
	if n := f.callCount("df"); n != 1 {
		t.Fatalf("%d size rounds while one was running, want 1", n)
	}
	if !e.Snapshot().Storage.Measured.IsZero() {
		t.Fatal("sizes published before Podman answered")
	}
	time.Sleep(100 * time.Millisecond) // the round takes at least this long
	release()
	waitFor(t, "the sizes in the snapshot", func() bool { return !e.Snapshot().Storage.Measured.IsZero() })

	s := e.Snapshot()
	st := s.Storage
	if st.MeasureDuration < 100*time.Millisecond {
		t.Errorf("round took %v, want at least the 100ms it was held", st.MeasureDuration)
	}
	if st.Images != (ImageUsage{Size: 5000, Reclaimable: 4000}) {
		t.Errorf("images %+v, want size 5000, reclaimable 4000", st.Images)
	}
	// Only listed volumes: "gone" was removed since, "new" not measured yet.
	if len(st.Volumes) != 1 || st.Volumes[0].Name != "data" || st.Volumes[0].Size != 12345 || !st.Volumes[0].Measured.Equal(st.Measured) {
		t.Errorf("volumes %+v, want data of 12345 bytes measured at %v", st.Volumes, st.Measured)
	}
	if c, _ := s.Find(id(1)); c == nil || c.RWSize != 4096 || c.RootFSSize != 7096 {
		t.Errorf("container sizes %+v, want 4096 and 7096", c)
	}
	// The answer named a container the engine did not have: its size is not kept
	// (it may have been removed meanwhile), and it shows none until the next round.
	f.put(id(9), "late", "running", 0, time.Time{})
	f.event("start", id(9), "late", time.Now())
	waitFor(t, "late in the snapshot", func() bool { _, ok := e.Snapshot().Find(id(9)); return ok })
	if c, _ := e.Snapshot().Find(id(9)); c.RWSize != -1 {
		t.Errorf("late container has size %d from a round before it was known, want -1", c.RWSize)
	}
	// The round took over 100ms: the next may not start for 1.9s, ticks or not.
	time.Sleep(500 * time.Millisecond)
	if n := f.callCount("df"); n != 1 {
		t.Errorf("%d size rounds within 0.5s of a round of %v, want 1", n, st.MeasureDuration)
	}
}

// When Podman cannot answer df (one volume it cannot walk fails all of it), the
// containers' sizes come from the sized list, and images and volumes stay unmeasured.
func TestEngineSizeRoundDfFails(t *testing.T) {
	f := newFakeAPI()
	f.put(id(1), "web", "running", 0, time.Time{})
	f.dfErr = &errorhandling.ErrorModel{Because: "permission denied", ResponseCode: http.StatusInternalServerError}
	f.sizes = map[string][2]int64{id(1): {10, 20}}
	e := startSizedEngine(t, f, time.Hour)
	waitFor(t, "sizes from the sized list", func() bool { c, _ := e.Snapshot().Find(id(1)); return c != nil && c.RWSize == 10 })
	s := e.Snapshot()
	if c, _ := s.Find(id(1)); c.RootFSSize != 20 {
		t.Errorf("root file system size %d, want 20", c.RootFSSize)
	}
	if s.Errors["system_df"] != 1 || !s.Storage.Measured.IsZero() {
		t.Errorf("errors %v, measured %v: want system_df counted once and nothing measured", s.Errors, s.Storage.Measured)
	}
	if !s.Up {
		t.Error("an answered error took the service down")
	}
}

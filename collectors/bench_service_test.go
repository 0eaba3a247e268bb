package collectors

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/podexporter/podexporter/internal/web"
	"github.com/podexporter/podexporter/podman"
	"github.com/podexporter/podexporter/systemd"
)

// The service layer's share of a scrape (issue 21), without a host: the Podman
// collectors over 100 synthetic containers with the service layer off (as
// --no-collector.systemd --no-collector.hardening) and on (the hardening and systemd
// collectors, 50 of the containers run by Quadlet units of a synthetic system
// manager). `make bench-service` measures the real daemon; these say where the time
// goes, with -cpuprofile.

// benchUnitSnapshots is a systemd source whose snapshots never change.
type benchUnitSnapshots []*systemd.Snapshot

func (s benchUnitSnapshots) Snapshots() []*systemd.Snapshot { return s }

// swappedSnapshots publishes a new Podman snapshot (same content, new pointer) on
// every next(): each scrape then finds the cache stale, as the first scrape after a
// stats round does.
type swappedSnapshots struct {
	cur atomic.Pointer[podman.Snapshot]
}

func (s *swappedSnapshots) Snapshots() []*podman.Snapshot { return []*podman.Snapshot{s.cur.Load()} }

func (s *swappedSnapshots) next() {
	c := *s.cur.Load()
	s.cur.Store(&c)
}

// syntheticQuadlet makes the first units containers of s Quadlet-run and returns the
// system manager's snapshot with their units.
func syntheticQuadlet(s *podman.Snapshot, units int) *systemd.Snapshot {
	u := &systemd.Snapshot{Manager: "system", UID: -1, Up: true, Updated: time.Now(),
		Resyncs: map[string]uint64{"start": 1}, Errors: map[string]uint64{}}
	for i := range units {
		name := fmt.Sprintf("app-%d.service", i)
		s.Containers[i].SystemdUnit = name
		u.Units = append(u.Units, systemd.Unit{Name: name, Kind: "container", SourcePath: fmt.Sprintf("/etc/containers/systemd/app-%d.container", i),
			LoadState: "loaded", ActiveState: "active", SubState: "running", Result: "success", Restart: "always",
			StateChange: time.Now().Add(-time.Hour), ActiveEnter: time.Now().Add(-time.Hour), ExecMainPID: uint32(2000 + i)})
	}
	return u
}

// serviceLayerHandler serves /metrics as the daemon does, with the service layer on
// or off.
func serviceLayerHandler(b *testing.B, on bool, src Snapshots, units UnitSnapshots) http.Handler {
	b.Helper()
	enabled := map[string]bool{}
	for _, n := range PodmanCollectorNames {
		enabled[n] = on || n != "hardening"
	}
	deps := Deps{Enabled: enabled, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Podman: src}
	if on {
		enabled["systemd"] = true
		deps.Units = units
	}
	set, err := New(deps)
	if err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(promcollectors.NewGoCollector(), procCollector(b), set)
	// As the daemon: the per-scrape collectors gathered, the snapshot part encoded.
	h, err := web.NewHandler(web.Options{TelemetryPath: "/metrics", Gatherer: reg, Encoded: set.EncodedParts,
		Pending: func() []string { return nil }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// promScrape is a request as Prometheus 2.x sends it.
func promScrape() *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
	req.Header.Set("Accept-Encoding", "gzip")
	return req
}

// BenchmarkServiceLayerScrape is a scrape while no snapshot changes (the cached part
// served as is): what back-to-back scraping measures.
func BenchmarkServiceLayerScrape(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
			snap := syntheticSnapshot(100)
			units := benchUnitSnapshots{syntheticQuadlet(snap, 50)}
			h := serviceLayerHandler(b, on, staticSnapshots{snap}, units)
			benchServe(b, h)
		})
	}
}

// BenchmarkServiceLayerSnapshot is the first scrape after a new Podman snapshot: the
// cached part encoded and compressed again, the hardening checks run again.
func BenchmarkServiceLayerSnapshot(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
			snap := syntheticSnapshot(100)
			units := benchUnitSnapshots{syntheticQuadlet(snap, 50)}
			src := &swappedSnapshots{}
			src.cur.Store(snap)
			h := serviceLayerHandler(b, on, src, units)
			benchServe(b, h, src.next)
		})
	}
}

func benchServe(b *testing.B, h http.Handler, before ...func()) {
	req := promScrape()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("status %d: %.300s", w.Code, w.Body.String())
	}
	b.ReportMetric(float64(w.Body.Len()), "gzip-bytes")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, f := range before {
			f()
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// TestServiceLayerSeries checks the benchmark's two configurations differ by the
// service layer's series only: ten hardening checks per container and the units'.
func TestServiceLayerSeries(t *testing.T) {
	snap := syntheticSnapshot(100)
	units := benchUnitSnapshots{syntheticQuadlet(snap, 50)}
	count := func(on bool) map[string]int {
		enabled := map[string]bool{}
		for _, n := range PodmanCollectorNames {
			enabled[n] = on || n != "hardening"
		}
		deps := Deps{Enabled: enabled, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Podman: staticSnapshots{snap}}
		if on {
			enabled["systemd"] = true
			deps.Units = units
		}
		set, err := New(deps)
		if err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(set)
		mfs, err := set.Gatherer(reg).Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, mf := range mfs {
			out[mf.GetName()] = len(mf.GetMetric())
		}
		return out
	}
	off, on := count(false), count(true)
	var added []string
	for name, n := range on {
		if n != off[name] {
			added = append(added, fmt.Sprintf("%s +%d", name, n-off[name]))
		}
	}
	slices.Sort(added)
	if on["podman_container_hardening_passed"] != 100*hardeningChecksNumber {
		t.Errorf("hardening series: %d, want %d", on["podman_container_hardening_passed"], 100*hardeningChecksNumber)
	}
	if on["podman_quadlet_unit_info"] != 50 {
		t.Errorf("podman_quadlet_unit_info: %d series, want 50", on["podman_quadlet_unit_info"])
	}
	t.Logf("series the service layer adds: %v", added)
}

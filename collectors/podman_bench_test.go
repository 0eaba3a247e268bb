package collectors

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/podexporter/podexporter/internal/procself"
	"github.com/podexporter/podexporter/internal/web"
	"github.com/podexporter/podexporter/podman"
)

type staticSnapshots []*podman.Snapshot

func (s staticSnapshots) Snapshots() []*podman.Snapshot { return s }

// syntheticSnapshot is shaped like a real host's: running containers with stats,
// health checks on a third of them, a few pods and images.
func syntheticSnapshot(n int) *podman.Snapshot {
	s := &podman.Snapshot{Service: "rootful", Up: true, Updated: time.Now(), HealthChecks: map[string]map[string]uint64{},
		APIRequests: map[string]uint64{"libpod/containers/stats": 10, "libpod/events": 1}}
	for i := range n {
		id := fmt.Sprintf("%012x%052x", i+1, 0)
		c := podman.Container{
			ID: id, Name: fmt.Sprintf("app-%d", i), Image: "localhost/app:1", ImageID: "abcdefabcdef",
			State: "running", Created: time.Now().Add(-time.Hour), Started: time.Now().Add(-time.Hour),
			NetworkMode: "bridge", RWSize: 4096, RootFSSize: 1 << 20, Pid: 1000 + i,
			Stats: &podman.Stats{CPUTotal: time.Second, CPUSystem: time.Second / 3, MemUsage: 1 << 20, MemLimit: 1 << 30,
				Memory: &podman.MemoryDetail{RSS: 1 << 19, Cache: 1 << 18, WorkingSet: 1 << 20}, PIDs: 3,
				Network: &podman.NetworkCounters{RxBytes: 1000, TxBytes: 2000, RxPackets: 10, TxPackets: 20}},
		}
		if i%3 == 0 {
			c.Health = podman.Health{Status: "healthy", LastCheck: time.Now(), LastDuration: time.Millisecond}
			s.HealthChecks[id] = map[string]uint64{"success": 5}
		}
		s.Containers = append(s.Containers, c)
	}
	for i := range 5 {
		s.Pods = append(s.Pods, podman.Pod{ID: fmt.Sprintf("pod%09d", i), Name: fmt.Sprintf("pod-%d", i), State: "Running", Containers: 2})
		s.Images = append(s.Images, podman.Image{ID: fmt.Sprintf("img%09d", i), Repository: "localhost/app", Tag: fmt.Sprint(i), Size: 1 << 20})
	}
	return s
}

func scrapeHandler(b *testing.B, src Snapshots) http.Handler {
	b.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(promcollectors.NewGoCollector(), procCollector(b))
	if src != nil {
		enabled := map[string]bool{}
		for _, n := range PodmanCollectorNames {
			enabled[n] = true
		}
		set, err := New(Deps{Enabled: enabled, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Podman: src})
		if err != nil {
			b.Fatal(err)
		}
		reg.MustRegister(set)
		h, err := web.NewHandler(web.Options{TelemetryPath: "/metrics", Gatherer: reg, Encoded: set.EncodedParts,
			Pending: func() []string { return nil }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// procCollector is the daemon's process collector.
func procCollector(b *testing.B) prometheus.Collector {
	b.Helper()
	c, err := procself.New()
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchScrape(b *testing.B, h http.Handler, parallel int, header ...string) {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	b.SetParallelism(parallel)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("status %d: %.300s", w.Code, w.Body.String())
			}
		}
	})
}

// BenchmarkScrapeBaseline scrapes a registry with only the Go and process collectors,
// the floor every exporter pays.
func BenchmarkScrapeBaseline(b *testing.B) { benchScrape(b, scrapeHandler(b, nil), 1) }

func BenchmarkScrape30Containers(b *testing.B) {
	benchScrape(b, scrapeHandler(b, staticSnapshots{syntheticSnapshot(30)}), 1)
}

func BenchmarkScrape100Containers(b *testing.B) {
	benchScrape(b, scrapeHandler(b, staticSnapshots{syntheticSnapshot(100)}), 1)
}

func BenchmarkScrape100Containers10Scrapers(b *testing.B) {
	benchScrape(b, scrapeHandler(b, staticSnapshots{syntheticSnapshot(100)}), 10)
}

// BenchmarkScrape100ContainersPrometheus asks as Prometheus does: gzip and the text format.
func BenchmarkScrape100ContainersPrometheus(b *testing.B) {
	benchScrape(b, scrapeHandler(b, staticSnapshots{syntheticSnapshot(100)}), 1, "Accept-Encoding", "gzip",
		"Accept", "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1")
}

// BenchmarkScrapeBaselinePrometheus is the baseline asked for the same way.
func BenchmarkScrapeBaselinePrometheus(b *testing.B) {
	benchScrape(b, scrapeHandler(b, nil), 1, "Accept-Encoding", "gzip",
		"Accept", "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1")
}

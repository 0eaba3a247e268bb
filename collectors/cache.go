package collectors

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/podexporter/podexporter/podman"
	"github.com/podexporter/podexporter/systemd"
)

// snapshotPart is implemented by collectors whose output, besides what Update sends,
// depends only on one Podman snapshot. Snapshots are immutable, so that output is built
// once per published snapshot and shared by every scrape until the next one: with 100
// containers this is thousands of series that a scrape would otherwise rebuild, check
// and sort each time.
type snapshotPart interface {
	collectSnapshot(s *podman.Snapshot, ch chan<- prometheus.Metric)
}

// unitsPart is implemented by collectors whose output depends only on one systemd
// manager's snapshot; it is cached the same way.
type unitsPart interface {
	collectUnits(s *systemd.Snapshot, ch chan<- prometheus.Metric)
}

// namedPart is a collector with a snapshot or units part (or both), with its name, for
// reporting its failures.
type namedPart struct {
	name      string
	collector any
}

// snapshotCache holds the snapshot parts encoded for one set of snapshot versions.
// It keeps bytes, not gathered families: at 100 containers the families were about
// 2.5 MB of label pairs and samples (25 KB per container, doubled by the GC's
// headroom), the encoded text is under 500 KB and its gzip member about 40 KB. The
// OTLP push, which needs families, gathers them afresh from the same immutable
// snapshots.
type snapshotCache struct {
	src   Snapshots     // nil without a Podman collector
	units UnitSnapshots // nil without the systemd collector
	parts []namedPart
	reg   *prometheus.Registry

	mu   sync.Mutex
	key  []*podman.Snapshot
	ukey []*systemd.Snapshot
	// bytes holds the families encoded per format and compression, only those asked
	// for, emptied whenever a source publishes a new snapshot.
	bytes map[string][]byte
	// sizes remembers each family's encoded size for the next encoding's buffers.
	sizes map[string]int

	failMu sync.Mutex
	// failures holds the parts that panicked on the snapshots in key, by collector:
	// their series are missing until the next snapshot, and their success says so.
	failures map[string]error
}

func newSnapshotCache(src Snapshots, units UnitSnapshots, parts []namedPart) *snapshotCache {
	c := &snapshotCache{src: src, units: units, parts: parts, reg: prometheus.NewRegistry(), sizes: map[string]int{}}
	c.reg.MustRegister(snapshotCollector{c})
	return c
}

// snapshotCollector feeds the cache's private registry; it is unchecked (describes
// nothing) because its families depend on what the hosts have.
type snapshotCollector struct{ c *snapshotCache }

func (snapshotCollector) Describe(chan<- *prometheus.Desc) {}

func (s snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range s.c.parts {
		if err := collectPart(p, s.c.key, s.c.ukey, ch); err != nil {
			s.c.failMu.Lock()
			if s.c.failures == nil {
				s.c.failures = map[string]error{}
			}
			first := s.c.failures[p.name] == nil
			s.c.failures[p.name] = err
			s.c.failMu.Unlock()
			if first {
				failures.collectorFailed(p.name, err)
			}
		}
	}
}

// collectPart emits one part's series of the snapshots; a panic costs the series it
// had not sent yet, not the process.
func collectPart(p namedPart, snaps []*podman.Snapshot, units []*systemd.Snapshot, ch chan<- prometheus.Metric) (err error) {
	defer recovered("collector "+p.name, &err)
	if sp, ok := p.collector.(snapshotPart); ok {
		for _, snap := range snaps {
			sp.collectSnapshot(snap, ch)
		}
	}
	if up, ok := p.collector.(unitsPart); ok {
		for _, u := range units {
			up.collectUnits(u, ch)
		}
	}
	return nil
}

// failed says whether the named part panicked on the current snapshots.
func (c *snapshotCache) failed(name string) error {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	return c.failures[name]
}

// refresh forgets the encoded bytes when a source has published a new snapshot since
// the last call. The caller holds c.mu.
func (c *snapshotCache) refresh() {
	var snaps []*podman.Snapshot
	if c.src != nil {
		snaps = c.src.Snapshots()
	}
	var units []*systemd.Snapshot
	if c.units != nil {
		units = c.units.Snapshots()
	}
	if c.bytes != nil && slices.Equal(snaps, c.key) && slices.Equal(units, c.ukey) {
		return
	}
	c.key, c.ukey = snaps, units
	c.bytes = map[string][]byte{}
	c.failMu.Lock()
	c.failures = nil
	c.failMu.Unlock()
}

// gather returns the families for the current snapshots, built afresh: the caller
// owns them.
func (c *snapshotCache) gather() ([]*dto.MetricFamily, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	return c.reg.Gather()
}

// Gatherer returns what /metrics serves: dynamic's families (the per-scrape collectors,
// Go and process metrics) merged with the cached snapshot families. Families present
// in both (none today, by the catalog's unique names) have their series joined.
func (s *Set) Gatherer(dynamic prometheus.Gatherer) prometheus.Gatherer {
	if s.cache == nil {
		return dynamic
	}
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		dyn, err := dynamic.Gather()
		cached, cerr := s.cache.gather()
		if err == nil {
			err = cerr
		}
		out := make([]*dto.MetricFamily, 0, len(dyn)+len(cached))
		out = append(out, dyn...)
		index := make(map[string]int, len(dyn))
		for i, f := range dyn {
			index[f.GetName()] = i
		}
		for _, f := range cached {
			if i, ok := index[f.GetName()]; ok {
				joined := &dto.MetricFamily{Name: out[i].Name, Help: out[i].Help, Type: out[i].Type, Unit: out[i].Unit}
				joined.Metric = append(append(joined.Metric, out[i].Metric...), f.Metric...)
				out[i] = joined // the cached family is shared by concurrent scrapes: never modified
				continue
			}
			out = append(out, f)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
		return out, err
	})
}

// Encoded returns the snapshot families in the exposition format f, encoded once per
// snapshot version, format and compression: on a host with 100 containers encoding and
// compressing, not collecting, are most of a scrape. compress turns the encoded bytes
// into one self-contained compressed member (gzip members and zstd frames may be
// concatenated), and its result is cached under compression; an empty compression
// means uncompressed. For OpenMetrics the bytes carry no # EOF; the caller ends the
// stream.
func (s *Set) Encoded(f expfmt.Format, compression string, compress func([]byte) ([]byte, error)) ([]byte, error) {
	if s.cache == nil {
		return nil, nil
	}
	return s.cache.encoded(f, compression, compress)
}

func (c *snapshotCache) encoded(f expfmt.Format, compression string, compress func([]byte) ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	key := string(f) + "|" + compression
	if b, ok := c.bytes[key]; ok {
		return b, nil
	}
	plain, ok := c.bytes[string(f)+"|"]
	if !ok {
		var err error
		plain, err = encodeStream(f, snapshotCollector{c}.Collect, c.sizes)
		if err != nil {
			return nil, err
		}
		if compression == "" {
			// Kept only when asked for: Prometheus asks for gzip, so on most hosts
			// only the compressed member stays.
			c.bytes[key] = plain
		}
	}
	if compression == "" {
		return plain, nil
	}
	packed, err := compress(plain)
	if err != nil {
		return nil, fmt.Errorf("compress snapshot metrics (%s): %w", compression, err)
	}
	c.bytes[key] = packed
	return packed, nil
}

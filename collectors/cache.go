package collectors

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/podexporter/podexporter/podman"
)

// snapshotPart is implemented by collectors whose output, besides what Update sends,
// depends only on one Podman snapshot. Snapshots are immutable, so that output is built
// once per published snapshot and shared by every scrape until the next one: with 100
// containers this is thousands of series that a scrape would otherwise rebuild, check
// and sort each time.
type snapshotPart interface {
	collectSnapshot(s *podman.Snapshot, ch chan<- prometheus.Metric)
}

// snapshotCache holds the gathered snapshot parts for one set of snapshot versions.
type snapshotCache struct {
	src   Snapshots
	parts []snapshotPart
	reg   *prometheus.Registry

	mu   sync.Mutex
	key  []*podman.Snapshot
	fams []*dto.MetricFamily
	err  error
	// bytes holds fams encoded per format and compression, emptied whenever fams is rebuilt.
	bytes map[string][]byte
}

func newSnapshotCache(src Snapshots, parts []snapshotPart) *snapshotCache {
	c := &snapshotCache{src: src, parts: parts, reg: prometheus.NewRegistry()}
	c.reg.MustRegister(snapshotCollector{c})
	return c
}

// snapshotCollector feeds the cache's private registry; it is unchecked (describes
// nothing) because its families depend on what the hosts have.
type snapshotCollector struct{ c *snapshotCache }

func (snapshotCollector) Describe(chan<- *prometheus.Desc) {}

func (s snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	for _, snap := range s.c.key {
		for _, p := range s.c.parts {
			p.collectSnapshot(snap, ch)
		}
	}
}

// refresh rebuilds the families when a source has published a new snapshot since the
// last call. The caller holds c.mu.
func (c *snapshotCache) refresh() {
	snaps := c.src.Snapshots()
	if c.fams != nil && slices.Equal(snaps, c.key) {
		return
	}
	c.key = snaps
	c.fams, c.err = c.reg.Gather()
	c.bytes = map[string][]byte{}
}

// gather returns the families for the current snapshots.
func (c *snapshotCache) gather() ([]*dto.MetricFamily, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	return c.fams, c.err
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
		return b, c.err
	}
	plain, ok := c.bytes[string(f)+"|"]
	if !ok {
		var buf bytes.Buffer
		enc := expfmt.NewEncoder(&buf, f)
		for _, mf := range c.fams {
			if err := enc.Encode(mf); err != nil {
				return nil, fmt.Errorf("encode %s: %w", mf.GetName(), err)
			}
		}
		plain = buf.Bytes()
		c.bytes[string(f)+"|"] = plain
	}
	if compression == "" {
		return plain, c.err
	}
	packed, err := compress(plain)
	if err != nil {
		return nil, fmt.Errorf("compress snapshot metrics (%s): %w", compression, err)
	}
	c.bytes[key] = packed
	return packed, c.err
}

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

// snapshotCache holds the snapshot parts encoded for the snapshots they read. It
// keeps bytes, not gathered families: at 100 containers the families were about
// 2.5 MB of label pairs and samples (25 KB per container, doubled by the GC's
// headroom), the encoded text is under 500 KB and its gzip member about 40 KB. The
// OTLP push, which needs families, gathers them afresh from the same immutable
// snapshots.
//
// Each part is encoded and compressed on its own and kept while what it reads stays
// the same: a stats round publishes a new Podman snapshot every 10 s, which changes
// the container parts but not the units part (systemd's snapshots) nor the hardening
// verdicts (inspect data, fingerprinted), so a Prometheus scraping at 15 s, which
// nearly always meets a new snapshot, does not pay for those again.
type snapshotCache struct {
	src   Snapshots     // nil without a Podman collector
	units UnitSnapshots // nil without the systemd collector
	parts []namedPart
	reg   *prometheus.Registry

	mu   sync.Mutex
	key  []*podman.Snapshot
	ukey []*systemd.Snapshot
	// entries are the parts' encodings, by the parts' order.
	entries []partEntry
	// joined is what Encoded returned last, by format and compression, for callers
	// that want one slice; emptied with the entries that make it.
	joined map[string][]byte

	failMu sync.Mutex
}

// partEntry is one part's encodings for the inputs it was made from.
type partEntry struct {
	snaps []*podman.Snapshot  // the Podman snapshots, when the part reads them and has no fingerprint
	units []*systemd.Snapshot // the systemd snapshots, likewise
	sum   uint64              // the inputs' fingerprint, for a fingerprinted part
	made  bool
	// bytes holds the encodings per format and compression, only those asked for.
	bytes map[string][]byte
	// sizes remembers each family's encoded size for the next encoding's buffers.
	sizes map[string]int
	// err is set when the part panicked on these inputs: its series are missing until
	// they change, and its success says so.
	err error
}

// fingerprinted is implemented by parts whose output changes far less often than the
// snapshots they read: sum says what the output depends on, and the part is encoded
// again only when it changes.
type fingerprinted interface {
	fingerprint(snaps []*podman.Snapshot, units []*systemd.Snapshot) uint64
}

func newSnapshotCache(src Snapshots, units UnitSnapshots, parts []namedPart) *snapshotCache {
	c := &snapshotCache{src: src, units: units, parts: parts, reg: prometheus.NewRegistry(), entries: make([]partEntry, len(parts))}
	c.reg.MustRegister(snapshotCollector{c})
	return c
}

// snapshotCollector feeds the cache's private registry; it is unchecked (describes
// nothing) because its families depend on what the hosts have.
type snapshotCollector struct{ c *snapshotCache }

func (snapshotCollector) Describe(chan<- *prometheus.Desc) {}

func (s snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	for i := range s.c.parts {
		s.c.collect(i, ch)
	}
}

// collect emits part i's series of the current snapshots and notes a panic on its
// entry; the caller holds c.mu.
func (c *snapshotCache) collect(i int, ch chan<- prometheus.Metric) {
	p := c.parts[i]
	if err := collectPart(p, c.key, c.ukey, ch); err != nil {
		c.failMu.Lock()
		first := c.entries[i].err == nil
		c.entries[i].err = err
		c.failMu.Unlock()
		if first {
			failures.collectorFailed(p.name, err)
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

// failed says whether the named part panicked on the inputs of its current encoding.
func (c *snapshotCache) failed(name string) error {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	for i, p := range c.parts {
		if p.name == name {
			return c.entries[i].err
		}
	}
	return nil
}

// refresh takes the sources' current snapshots and forgets the encodings of the
// parts whose inputs changed. The caller holds c.mu.
func (c *snapshotCache) refresh() {
	var snaps []*podman.Snapshot
	if c.src != nil {
		snaps = c.src.Snapshots()
	}
	var units []*systemd.Snapshot
	if c.units != nil {
		units = c.units.Snapshots()
	}
	if c.joined != nil && slices.Equal(snaps, c.key) && slices.Equal(units, c.ukey) {
		return
	}
	c.key, c.ukey = snaps, units
	c.joined = map[string][]byte{}
	c.failMu.Lock()
	defer c.failMu.Unlock()
	for i, p := range c.parts {
		e := &c.entries[i]
		var want partEntry
		if fp, ok := p.collector.(fingerprinted); ok {
			want.sum = fp.fingerprint(snaps, units)
		} else {
			if _, ok := p.collector.(snapshotPart); ok {
				want.snaps = snaps
			}
			if _, ok := p.collector.(unitsPart); ok {
				want.units = units
			}
		}
		if e.made && e.sum == want.sum && slices.Equal(e.snaps, want.snaps) && slices.Equal(e.units, want.units) {
			continue
		}
		want.made, want.bytes, want.sizes = true, map[string][]byte{}, e.sizes
		if want.sizes == nil {
			want.sizes = map[string]int{}
		}
		*e = want
	}
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
// stream. EncodedParts is the same without joining the parts.
func (s *Set) Encoded(f expfmt.Format, compression string, compress func([]byte) ([]byte, error)) ([]byte, error) {
	if s.cache == nil {
		return nil, nil
	}
	return s.cache.encodedJoined(f, compression, compress)
}

// EncodedParts returns what Encoded does as the parts' own encodings (one compressed
// member each), which the caller writes one after the other: no copy is made per
// scrape, and nothing is held twice.
func (s *Set) EncodedParts(f expfmt.Format, compression string, compress func([]byte) ([]byte, error)) ([][]byte, error) {
	if s.cache == nil {
		return nil, nil
	}
	c := s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.encoded(f, compression, compress)
}

func (c *snapshotCache) encodedJoined(f expfmt.Format, compression string, compress func([]byte) ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	parts, err := c.encoded(f, compression, compress)
	if err != nil {
		return nil, err
	}
	key := string(f) + "|" + compression
	if b, ok := c.joined[key]; ok {
		return b, nil
	}
	var b []byte
	if len(parts) == 1 {
		b = parts[0]
	} else {
		b = bytes.Join(parts, nil)
	}
	c.joined[key] = b
	return b, nil
}

// encoded returns each part's encoding of the current snapshots, making those that
// are not cached. No family is emitted by two parts (TestPartsShareNoFamily), so the
// parts may follow one another. The caller holds c.mu.
func (c *snapshotCache) encoded(f expfmt.Format, compression string, compress func([]byte) ([]byte, error)) ([][]byte, error) {
	c.refresh()
	key := string(f) + "|" + compression
	out := make([][]byte, 0, len(c.parts))
	for i := range c.parts {
		e := &c.entries[i]
		if b, ok := e.bytes[key]; ok {
			out = append(out, b)
			continue
		}
		plain, ok := e.bytes[string(f)+"|"]
		if !ok {
			var err error
			plain, err = encodeStream(f, func(ch chan<- prometheus.Metric) { c.collect(i, ch) }, e.sizes)
			if err != nil {
				return nil, err
			}
			if compression == "" {
				// Kept only when asked for: Prometheus asks for gzip, so on most
				// hosts only the compressed member stays.
				e.bytes[key] = plain
			}
		}
		if compression == "" || len(plain) == 0 {
			out = append(out, plain)
			continue
		}
		packed, err := compress(plain)
		if err != nil {
			return nil, fmt.Errorf("compress snapshot metrics (%s): %w", compression, err)
		}
		e.bytes[key] = packed
		out = append(out, packed)
	}
	return out, nil
}

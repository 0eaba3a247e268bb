// Package collectors turns what the sources hold into Prometheus metrics. Like
// node_exporter, each collector is one small type registered by name with its own
// --collector.<name> flag, and every scrape reports each collector's duration and
// success. Collectors read values the sources already have; they never call Podman.
package collectors

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podexporter/podexporter/internal/catalog"
)

// Collector emits one group of metrics.
type Collector interface {
	Update(ctx context.Context, ch chan<- prometheus.Metric) error
}

// Deps is what a factory may use to build its collector: the few settings the
// collectors read, and the sources.
type Deps struct {
	// Enabled says which collectors run, by name (--collector.<name>).
	Enabled map[string]bool
	// NameLabel puts the container name on every container series
	// (--podman.name-label), ImageNameLabel its image (--podman.image-name-label);
	// ContainerLabels, PodLabels and ImageLabels are the allowlisted labels on
	// podman_container_info, podman_pod_info and podman_image_info
	// (--podman.container-label, --podman.pod-label, --podman.image-label).
	NameLabel       bool
	ImageNameLabel  bool
	ContainerLabels []string
	PodLabels       []string
	ImageLabels     []string
	// JournalDirectory is --journal.directory: "" for the default directories.
	JournalDirectory string
	Logger           *slog.Logger
	// Podman is the Podman source; nil when no Podman collector is enabled.
	Podman Snapshots
	// OTLP is the OTLP exporter side; nil when nothing is pushed.
	OTLP OTLPStats
	// Logs is the journal reader; nil when container logs are not read.
	Logs LogStats
	// EBPF is the eBPF network counting; nil unless --ebpf.enable.
	EBPF EBPFStats
	// Units is the systemd source; nil when the systemd collector is off.
	Units UnitSnapshots
}

type factory struct {
	help           string
	defaultEnabled bool
	build          func(Deps) (Collector, error)
}

var factories = map[string]factory{}

// register is called from init functions, so a duplicate is a programming error.
func register(name, help string, defaultEnabled bool, build func(Deps) (Collector, error)) {
	if _, dup := factories[name]; dup {
		panic("collectors: duplicate collector " + name)
	}
	factories[name] = factory{help: help, defaultEnabled: defaultEnabled, build: build}
}

// Flag describes one registered collector, for its --collector.<name> flag.
type Flag struct {
	Name    string
	Help    string
	Default bool
}

// Flags describes every registered collector, by name.
func Flags() []Flag {
	out := make([]Flag, 0, len(factories))
	for name, f := range factories {
		out = append(out, Flag{Name: name, Help: f.help, Default: f.defaultEnabled})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Set runs the enabled collectors on each scrape, concurrently, and is itself a
// prometheus.Collector.
type Set struct {
	collectors map[string]Collector
	logger     *slog.Logger
	// cache serves the snapshot parts of the Podman and systemd collectors; nil
	// without them.
	cache *snapshotCache
}

// New builds the collectors enabled in cfg.
func New(deps Deps) (*Set, error) {
	s := &Set{collectors: map[string]Collector{}, logger: deps.Logger}
	if deps.Logger != nil {
		failures.setLogger(deps.Logger)
	}
	for name, on := range deps.Enabled {
		if !on {
			continue
		}
		f, ok := factories[name]
		if !ok {
			return nil, fmt.Errorf("collector %q is not registered", name)
		}
		c, err := f.build(deps)
		if err != nil {
			return nil, fmt.Errorf("collector %s: %w", name, err)
		}
		s.collectors[name] = c
	}
	var parts []namedPart
	for _, name := range s.Names() {
		c := s.collectors[name]
		_, sp := c.(snapshotPart)
		_, up := c.(unitsPart)
		if (sp && deps.Podman != nil) || (up && deps.Units != nil) {
			parts = append(parts, namedPart{name, c})
		}
	}
	if len(parts) > 0 {
		var units UnitSnapshots
		if deps.Units != nil {
			units = deps.Units
		}
		var src Snapshots
		if deps.Podman != nil {
			src = deps.Podman
		}
		s.cache = newSnapshotCache(src, units, parts)
	}
	return s, nil
}

// Names lists the enabled collectors.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.collectors))
	for n := range s.collectors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var (
	durationDesc = desc(catalog.ScrapeCollectorDuration)
	successDesc  = desc(catalog.ScrapeCollectorSuccess)
)

// Describe sends only the scrape self-metrics: the collectors' own families depend on
// what the host has, so the Set is an unchecked collector for them, as in node_exporter.
func (s *Set) Describe(ch chan<- *prometheus.Desc) {
	ch <- durationDesc
	ch <- successDesc
	ch <- droppedDesc
	ch <- failuresDesc
}

// Collect runs every collector concurrently, then reports what failed since start.
func (s *Set) Collect(ch chan<- prometheus.Metric) {
	var wg sync.WaitGroup
	for name, c := range s.collectors {
		wg.Go(func() { s.run(name, c, ch) })
	}
	wg.Wait()
	failures.emit(ch)
}

func (s *Set) run(name string, c Collector, ch chan<- prometheus.Metric) {
	start := time.Now()
	// Collectors read in-memory state, so this bound only stops a bug from hanging scrapes.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := update(ctx, name, c, ch)
	if err == nil && s.cache != nil {
		err = s.cache.failed(name)
	}
	success := 1.0
	if err != nil {
		success = 0
		failures.collectorFailed(name, err)
	}
	send(ch, durationDesc, prometheus.GaugeValue, time.Since(start).Seconds(), name)
	send(ch, successDesc, prometheus.GaugeValue, success, name)
}

// update runs one collector; a panic in it (a bug, or input nobody foresaw) fails
// that collector's run instead of the process.
func update(ctx context.Context, name string, c Collector, ch chan<- prometheus.Metric) (err error) {
	defer recovered("collector "+name, &err)
	return c.Update(ctx, ch)
}

// desc turns a catalog declaration into its Prometheus descriptor.
func desc(m *catalog.Metric) *prometheus.Desc {
	return newDesc(m.Name, m.Help, m.Labels)
}

// valueType maps a catalog kind to Prometheus's.
func valueType(m *catalog.Metric) prometheus.ValueType {
	if m.Kind == catalog.Counter {
		return prometheus.CounterValue
	}
	return prometheus.GaugeValue
}

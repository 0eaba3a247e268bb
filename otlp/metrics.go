package otlp

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/podexporter/podexporter/internal/catalog"
)

// ContainerLookup resolves the 12-character id on a series to what the container's
// resource says; the daemon builds one over the Podman snapshots (cmd/podexporter).
type ContainerLookup func(id12 string) (Container, bool)

// MetricPusher exports, every interval, the same series /metrics serves, renamed and
// grouped by the catalog: one resource per container, cumulative temporality. Reading
// the gathered families (not the snapshot directly) is what keeps both sinks equal.
type MetricPusher struct {
	exp      sdkmetric.Exporter
	gather   func() ([]*dto.MetricFamily, error)
	lookup   ContainerLookup
	host     Host
	interval time.Duration
	logger   *slog.Logger
	start    time.Time
	stats    counters
	lookupMu sync.Mutex
}

// NewMetricPusher builds a pusher; Run starts it.
func NewMetricPusher(exp sdkmetric.Exporter, gather func() ([]*dto.MetricFamily, error), lookup ContainerLookup, host Host, interval time.Duration, logger *slog.Logger) *MetricPusher {
	p := &MetricPusher{exp: exp, gather: gather, lookup: lookup, host: host, interval: interval, logger: logger, start: time.Now()}
	watchPartialSuccess(&p.stats, logger)
	return p
}

// SetLookup sets how container resources are described; before it, only ids are known.
func (p *MetricPusher) SetLookup(l ContainerLookup) {
	p.lookupMu.Lock()
	p.lookup = l
	p.lookupMu.Unlock()
}

// Stats returns the metric export counters.
func (p *MetricPusher) Stats() Stats { return p.stats.snapshot() }

// Run pushes every interval until ctx ends, then shuts the exporter down. A failed push
// is not retried: the next one carries the same cumulative values.
func (p *MetricPusher) Run(ctx context.Context, started func()) error {
	started()
	t := time.NewTicker(p.interval)
	defer t.Stop()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.exp.Shutdown(sctx)
	}()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		err := p.Push(ctx)
		switch {
		case err != nil && !failing:
			p.logger.Warn("otlp metric push failing; the next push carries the cumulative values", "err", err)
			failing = true
		case err == nil && failing:
			p.logger.Info("otlp metric push recovered")
			failing = false
		}
	}
}

// Push exports one round now.
func (p *MetricPusher) Push(ctx context.Context) error {
	rms, err := p.Convert()
	if err != nil {
		return err
	}
	var firstErr error
	for _, rm := range rms {
		n := 0
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				n += points(m)
			}
		}
		p.stats.inFlight.Add(1)
		err := p.exp.Export(ctx, rm)
		p.stats.inFlight.Add(-1)
		if err != nil {
			p.stats.failed.Add(uint64(n))
			p.stats.dropped.Add(uint64(n))
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		p.stats.sent.Add(uint64(n))
		p.stats.lastSuccess.Store(time.Now().UnixNano())
	}
	return firstErr
}

func points(m metricdata.Metrics) int {
	switch d := m.Data.(type) {
	case metricdata.Sum[float64]:
		return len(d.DataPoints)
	case metricdata.Gauge[float64]:
		return len(d.DataPoints)
	}
	return 0
}

// Labels that become resource attributes rather than data point attributes.
var resourceLabels = map[string]bool{"id": true, "pod_id": true, "pod_name": true, "podman_service": true, "name": true, "image": true}

// Convert maps the gathered families to OTLP resource metrics.
func (p *MetricPusher) Convert() ([]*metricdata.ResourceMetrics, error) {
	fams, err := p.gather()
	if err != nil && len(fams) == 0 {
		return nil, err
	}
	now := time.Now()
	type group struct {
		rm      *metricdata.ResourceMetrics
		metrics map[string]*metricdata.Metrics
		order   []string
	}
	groups := map[string]*group{}
	groupFor := func(key string, c *Container) *group {
		if g, ok := groups[key]; ok {
			return g
		}
		g := &group{rm: &metricdata.ResourceMetrics{Resource: p.host.newResource(c)}, metrics: map[string]*metricdata.Metrics{}}
		groups[key] = g
		return g
	}
	for _, f := range fams {
		m, ok := catalog.Lookup(f.GetName())
		if !ok || m.OTelName == "" {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range s.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			key, c := "host", (*Container)(nil)
			if id := labels["id"]; id != "" && m.IDOf == catalog.SubjectContainer {
				key = "c/" + id
				p.lookupMu.Lock()
				lookup := p.lookup
				p.lookupMu.Unlock()
				meta, ok := Container{}, false
				if lookup != nil {
					meta, ok = lookup(id)
				}
				if !ok {
					meta = Container{ID: id, Name: labels["name"]}
				}
				// Families outside the Podman collectors (logs, eBPF) carry no pod or
				// service labels: what the lookup knows stays.
				if v := labels["pod_id"]; v != "" {
					meta.PodID, meta.PodName = v, labels["pod_name"]
				}
				if v := labels["podman_service"]; v != "" {
					meta.Service = v
				}
				c = &meta
			}
			g := groupFor(key, c)
			attrs := make([]attribute.KeyValue, 0, len(labels)+len(m.OTelAttributes))
			for k, v := range labels {
				if c != nil && resourceLabels[k] {
					continue
				}
				switch k {
				case "podman_service":
					k = "podman.service"
				case "id":
					k = m.IDOf.OTelIDAttribute()
				}
				attrs = append(attrs, attribute.String(k, v))
			}
			for k, v := range m.OTelAttributes {
				attrs = append(attrs, attribute.String(k, v))
			}
			value := s.GetGauge().GetValue()
			if s.Counter != nil {
				value = s.GetCounter().GetValue()
			}
			om, ok := g.metrics[m.OTelName]
			if !ok {
				om = &metricdata.Metrics{Name: m.OTelName, Description: m.Help, Unit: m.Unit}
				if m.Kind == catalog.Counter {
					om.Data = metricdata.Sum[float64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true}
				} else {
					om.Data = metricdata.Gauge[float64]{}
				}
				g.metrics[m.OTelName] = om
				g.order = append(g.order, m.OTelName)
			}
			start := p.start
			if c != nil && !c.Started.IsZero() && c.Started.Before(now) {
				start = c.Started // a restarted container's counters begin again
			}
			dp := metricdata.DataPoint[float64]{Attributes: attribute.NewSet(attrs...), StartTime: start, Time: now, Value: value}
			switch d := om.Data.(type) {
			case metricdata.Sum[float64]:
				d.DataPoints = append(d.DataPoints, dp)
				om.Data = d
			case metricdata.Gauge[float64]:
				d.DataPoints = append(d.DataPoints, dp)
				om.Data = d
			}
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*metricdata.ResourceMetrics, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		sm := metricdata.ScopeMetrics{Scope: instrumentation.Scope{Name: scope}}
		for _, name := range g.order {
			sm.Metrics = append(sm.Metrics, *g.metrics[name])
		}
		g.rm.ScopeMetrics = []metricdata.ScopeMetrics{sm}
		out = append(out, g.rm)
	}
	return out, nil
}

package collectors

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/otlp"
)

// OTLPStats is what the otlp collector reads: the exporters' counters, per signal.
type OTLPStats interface {
	LogStats() (otlp.Stats, bool)
	MetricStats() (otlp.Stats, bool)
}

func init() {
	register("otlp", "OTLP export health: sent, failed, retried, rejected, backoff (when --otlp.endpoint is set).", true, newOTLPCollector)
}

type otlpCollector struct{ src OTLPStats }

func newOTLPCollector(d Deps) (Collector, error) { return &otlpCollector{src: d.OTLP}, nil }

func (c *otlpCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	if c.src == nil {
		return nil
	}
	e := emitter{ch}
	for _, sig := range []struct {
		name string
		get  func() (otlp.Stats, bool)
	}{{"logs", c.src.LogStats}, {"metrics", c.src.MetricStats}} {
		s, ok := sig.get()
		if !ok {
			continue
		}
		e.emit(catalog.OTLPSent, float64(s.Sent), sig.name)
		e.emit(catalog.OTLPFailed, float64(s.Failed), sig.name)
		e.emit(catalog.OTLPRetried, float64(s.Retried), sig.name)
		e.emit(catalog.OTLPRejected, float64(s.Rejected), sig.name)
		e.emit(catalog.OTLPDropped, float64(s.Dropped), sig.name)
		e.emit(catalog.OTLPInFlight, float64(s.InFlight), sig.name)
		e.emit(catalog.OTLPBackoff, s.Backoff.Seconds(), sig.name)
		if !s.LastSuccess.IsZero() {
			e.emit(catalog.OTLPLastSuccess, unixSeconds(s.LastSuccess), sig.name)
		}
	}
	return nil
}

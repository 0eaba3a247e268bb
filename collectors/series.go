package collectors

import (
	"fmt"
	"log/slog"
	"maps"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podexporter/podexporter/internal/catalog"
)

// Collectors turn strings that containers and local users control (container names,
// labels, journal fields) into label values. A value no exposition format can carry
// (invalid UTF-8) must cost that one series, never the scrape or the process:
// client_golang's MustNewConstMetric panics on it, so every series goes through send.

// send passes one series on, or drops it, counted per family and logged the first
// time, when client_golang refuses its label values.
func send(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		failures.dropSeries(d, err)
		return
	}
	ch <- m
}

// failureLog counts what the collectors could not emit: series dropped for their
// labels, and collectors that failed or panicked. It is package-wide because the
// free functions that emit series have no Set to hand.
type failureLog struct {
	mu         sync.Mutex
	logger     *slog.Logger
	dropped    map[string]uint64 // family -> series dropped
	collectors map[string]uint64 // collector -> failed runs (errors and panics)
}

var failures = failureLog{dropped: map[string]uint64{}, collectors: map[string]uint64{}}

func (f *failureLog) setLogger(l *slog.Logger) {
	f.mu.Lock()
	f.logger = l
	f.mu.Unlock()
}

func (f *failureLog) log() *slog.Logger {
	if f.logger == nil {
		return slog.Default()
	}
	return f.logger
}

func (f *failureLog) dropSeries(d *prometheus.Desc, err error) {
	name := d.String()
	if h, ok := familyHeads.Load(d); ok {
		name = h.(familyHead).name
	}
	f.dropSeriesOf(name, err)
}

// dropSeriesOf counts and, the first time, logs a series of the family name dropped.
func (f *failureLog) dropSeriesOf(name string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropped[name]++
	if f.dropped[name] == 1 {
		f.log().Warn("series dropped: its labels cannot be exposed; further drops of this family are only counted",
			"family", name, "metric", catalog.ScrapeSeriesDropped.Name, "err", err)
	}
}

// collectorFailed counts a failed run; the first of each collector is logged as an
// error, the rest only counted, so that a collector failing at every scrape does not
// fill the journal.
func (f *failureLog) collectorFailed(name string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.collectors[name]++
	if f.collectors[name] == 1 {
		f.log().Error("collector failed; further failures are only counted", "collector", name,
			"metric", catalog.ScrapeCollectorFailures.Name, "err", err)
	}
}

// recovered turns a panic into an error naming what panicked; call it deferred with
// the error to set.
func recovered(what string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s panicked: %v", what, r)
	}
}

var (
	droppedDesc  = desc(catalog.ScrapeSeriesDropped)
	failuresDesc = desc(catalog.ScrapeCollectorFailures)
)

// emit sends the counts, for every family and collector that ever failed.
func (f *failureLog) emit(ch chan<- prometheus.Metric) {
	f.mu.Lock()
	dropped, collectors := maps.Clone(f.dropped), maps.Clone(f.collectors)
	f.mu.Unlock()
	// Sent without the lock: send takes it again when it drops a series.
	for name, n := range dropped {
		send(ch, droppedDesc, prometheus.CounterValue, float64(n), name)
	}
	for name, n := range collectors {
		send(ch, failuresDesc, prometheus.CounterValue, float64(n), name)
	}
}

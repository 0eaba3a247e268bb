package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/version"

	"github.com/podexporter/podexporter/cmd/podexporter/internal/config"
	"github.com/podexporter/podexporter/collectors"
	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/internal/memtrim"
	"github.com/podexporter/podexporter/internal/procself"
	"github.com/podexporter/podexporter/internal/readiness"
	"github.com/podexporter/podexporter/internal/sdnotify"
	"github.com/podexporter/podexporter/internal/web"
)

// shutdownGrace bounds how long in-flight scrapes may finish after SIGTERM; systemd's
// default TimeoutStopSec is 90 s, and we promise 10.
const shutdownGrace = 5 * time.Second

func daemon(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	notify := sdnotify.New(logger)
	notify.Status("starting")
	if err := cfg.PrepareStateDir(); err != nil {
		return err
	}

	srcs, deps, ot, err := buildComponents(cfg, logger)
	if err != nil {
		return err
	}
	set, err := collectors.New(deps)
	if err != nil {
		return fmt.Errorf("build collectors: %w", err)
	}
	var ready readiness.Tracker

	reg := prometheus.NewRegistry()
	reg.MustRegister(buildInfo(), readyGauge(&ready), set)
	// go_*, process_* and promhttp_* describe podexporter itself; its podexporter_*
	// self-metrics stay either way.
	var handlerMetrics prometheus.Registerer = reg
	if cfg.Web.DisableExporterMetrics {
		handlerMetrics = nil
	} else {
		reg.MustRegister(promcollectors.NewGoCollector())
		// client_golang's process collector cost a quarter of a scrape at 100
		// containers; procself gives the same families for a fifth to a fifteenth of its cost.
		if proc, err := procself.New(); err == nil {
			reg.MustRegister(proc)
		} else {
			logger.Warn("no process_* metrics: /proc does not say when podexporter started", "err", err)
		}
	}
	// The OTLP push exports exactly what /metrics serves.
	ot.setGatherer(set.Gatherer(reg).Gather, containerLookup(deps.Podman))
	for _, s := range srcs {
		ready.Expect(s.name)
	}

	handler, err := web.NewHandler(web.Options{
		TelemetryPath: cfg.Web.TelemetryPath,
		Gatherer:      reg,
		Encoded:       set.EncodedParts,
		Registerer:    handlerMetrics,
		MaxRequests:   cfg.Web.MaxRequests,
		Pending:       ready.Pending,
		Version:       version.Info(),
		Logger:        logger,
	})
	if err != nil {
		return err
	}
	listeners, err := web.Listen(cfg.Web.FlagConfig())
	if err != nil {
		return &config.Error{Setting: "--web.listen-address", Problem: err.Error(), Fix: "choose a free port or address, or stop the process holding it"}
	}
	addrs := make([]string, len(listeners))
	for i, l := range listeners {
		addrs[i] = l.Addr().String()
	}

	logger.Info("podexporter starting", "version", version.Info(), "collectors", set.Names(), "listen", addrs)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	serveErr := make(chan error, 1)
	go func() { serveErr <- web.Serve(ctx, listeners, handler, cfg.Web.FlagConfig(), shutdownGrace, logger) }()

	// Each component runs until ctx ends; one that returns early with an error stops the
	// daemon, since a half-working agent is worse than a restarted one.
	srcErr := make(chan error, len(srcs))
	var srcWG sync.WaitGroup
	for _, s := range srcs {
		srcWG.Go(func() {
			if err := s.run(ctx, func() { ready.Started(s.name) }); err != nil && ctx.Err() == nil {
				srcErr <- fmt.Errorf("%s: %w", s.name, err)
			}
		})
	}
	if err := waitReady(ctx, &ready, srcErr); err != nil {
		cancel()
		srcWG.Wait()
		<-serveErr
		return err
	}

	notify.Ready(fmt.Sprintf("serving on %s with collectors %s", strings.Join(addrs, ", "), strings.Join(set.Names(), ",")))
	var background sync.WaitGroup
	background.Go(func() { notify.Watchdog(ctx, func() bool { return true }) })
	background.Go(func() { trimStartupPages(ctx, logger) })

	serveDone := false
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		serveDone = true
	case err = <-srcErr:
	}
	notify.Stopping()
	logger.Info("podexporter stopping")
	cancel()
	background.Wait()
	srcWG.Wait()
	if !serveDone {
		if e := <-serveErr; err == nil {
			err = e
		}
	}
	return err
}

// trimStartupPages gives back, once start-up is well over, the executable's pages that
// only start-up touched (see internal/memtrim): about half of the binary.
func trimStartupPages(ctx context.Context, logger *slog.Logger) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(trimAfter):
	}
	segs, err := memtrim.Executable()
	if err != nil {
		logger.Debug("cannot trim start-up pages; resident memory stays higher", "err", err)
		return
	}
	var resident int64
	for _, s := range segs {
		resident += s.Resident
	}
	logger.Debug("start-up pages of the executable unmapped", "segments", len(segs), "resident_bytes_before", resident)
}

// trimAfter leaves the first Podman rounds, journal positioning and scrapes behind.
const trimAfter = 10 * time.Second

// waitReady returns once every component has said it started, or with the first
// component's error, so READY=1 means what it says.
func waitReady(ctx context.Context, ready *readiness.Tracker, srcErr <-chan error) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for len(ready.Pending()) > 0 {
		select {
		case <-ctx.Done():
			return nil
		case err := <-srcErr:
			return err
		case <-t.C:
		}
	}
	return nil
}

func buildInfo() prometheus.Collector {
	m := catalog.BuildInfo
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: m.Name, Help: m.Help}, m.Labels)
	g.WithLabelValues(version.Version, version.Revision, runtime.Version()).Set(1)
	return g
}

func readyGauge(t *readiness.Tracker) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: catalog.Ready.Name, Help: catalog.Ready.Help}, func() float64 {
		if len(t.Pending()) == 0 {
			return 1
		}
		return 0
	})
}

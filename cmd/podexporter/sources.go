package main

import (
	"context"
	"log/slog"

	"github.com/podexporter/podexporter/collectors"
	"github.com/podexporter/podexporter/internal/config"
)

// source is a long-running producer the daemon owns: it calls started once it serves
// data, and returns only when ctx ends (nil) or it cannot go on (an error).
type source struct {
	name string
	run  func(ctx context.Context, started func()) error
}

// buildSources creates the sources the configuration asks for and the collector
// dependencies that read them. Each source's wiring lives in a file of its own.
func buildSources(cfg *config.Config, logger *slog.Logger) ([]source, collectors.Deps, *otlpSinks, error) {
	deps := collectors.Deps{Config: cfg, Logger: logger}
	ot, err := newOTLP(cfg, logger)
	if err != nil {
		return nil, deps, nil, err
	}
	if ot != nil {
		deps.OTLP = ot
	}
	var srcs []source
	srcs = append(srcs, ebpfSource(cfg, logger, &deps)...) // before Podman, which reads its counters
	srcs = append(srcs, podmanSource(cfg, logger, &deps, ot.onEvent(cfg.Podman.ContainerLabels), ot.eventPositions(cfg, logger))...)
	logs, err := logsSource(cfg, logger, &deps, ot)
	if err != nil {
		return nil, deps, nil, err
	}
	srcs = append(srcs, logs...)
	srcs = append(srcs, ot.sources()...)
	return srcs, deps, ot, nil
}

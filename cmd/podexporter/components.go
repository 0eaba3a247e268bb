package main

import (
	"context"
	"log/slog"

	"github.com/podexporter/podexporter/cmd/podexporter/internal/config"
	"github.com/podexporter/podexporter/collectors"
	"github.com/podexporter/podexporter/podman"
)

// component is a long-running part the daemon owns, a source (Podman, journal, eBPF)
// or a sink that runs on its own (the OTLP queues): it calls started once it serves,
// and returns only when ctx ends (nil) or it cannot go on (an error).
type component struct {
	name string
	run  func(ctx context.Context, started func()) error
}

// buildComponents creates the sources and sinks the configuration asks for and the
// collector dependencies that read them. Each one's wiring lives in a file of its own.
func buildComponents(cfg *config.Config, logger *slog.Logger) ([]component, collectors.Deps, *otlpSinks, error) {
	deps := collectors.Deps{
		Enabled:          cfg.Collectors,
		NameLabel:        cfg.Podman.NameLabel,
		ImageNameLabel:   cfg.Podman.ImageNameLabel,
		ContainerLabels:  cfg.Podman.ContainerLabels,
		PodLabels:        cfg.Podman.PodLabels,
		ImageLabels:      cfg.Podman.ImageLabels,
		JournalDirectory: cfg.Journal.Directory,
		Logger:           logger,
	}
	ot, err := newOTLP(cfg, logger)
	if err != nil {
		return nil, deps, nil, err
	}
	if ot != nil {
		deps.OTLP = ot
	}
	var srcs []component
	srcs = append(srcs, ebpfSource(cfg, logger, &deps)...) // before Podman, which reads its counters
	srcs = append(srcs, podmanSource(cfg, logger, &deps, ot.onEvent(), ot.eventPositions(cfg, logger))...)
	pods, _ := deps.Podman.(*podman.Source)
	srcs = append(srcs, systemdSource(cfg, logger, &deps, ot, pods)...)
	logs, err := logsSource(cfg, logger, &deps, ot)
	if err != nil {
		return nil, deps, nil, err
	}
	srcs = append(srcs, logs...)
	srcs = append(srcs, ot.components()...)
	return srcs, deps, ot, nil
}

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
func buildSources(cfg *config.Config, logger *slog.Logger) ([]source, collectors.Deps, error) {
	deps := collectors.Deps{Config: cfg, Logger: logger}
	var srcs []source
	srcs = append(srcs, podmanSource(cfg, logger, &deps)...)
	logs, err := logsSource(cfg, logger, &deps)
	if err != nil {
		return nil, deps, err
	}
	srcs = append(srcs, logs...)
	return srcs, deps, nil
}

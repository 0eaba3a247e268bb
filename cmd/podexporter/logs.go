package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"regexp"

	"github.com/podexporter/podexporter/collectors"
	"github.com/podexporter/podexporter/internal/config"
	"github.com/podexporter/podexporter/journald"
	"github.com/podexporter/podexporter/journald/jsonl"
	"github.com/podexporter/podexporter/podman"
)

// logsSource builds the journal reader when a log sink is configured; with
// --journal.sink=none container logs are not read at all.
func logsSource(cfg *config.Config, logger *slog.Logger, deps *collectors.Deps, ot *otlpSinks) ([]component, error) {
	j := cfg.Journal
	if j.Sink == config.SinkNone {
		return nil, nil
	}
	rc := journald.Config{
		Directory:      j.Directory,
		Namespace:      j.Namespace,
		Units:          j.Units,
		MaxLineBytes:   j.MaxLineBytes,
		PartialTimeout: j.PartialTimeout,
		BatchSize:      j.BatchSize,
		BatchAge:       j.BatchAge,
		ExtraFields:    j.ExtraFields,
		Checkpoint:     journald.NewCheckpoint(filepath.Join(cfg.State.Directory, "journal.cursor")),
		Logger:         logger,
	}
	if src, ok := deps.Podman.(*podman.Source); ok {
		rc.Enricher = snapshotEnricher{src}
		rc.Labels = cfg.Podman.ContainerLabels
	}
	// Validated by config, so compiling cannot fail here.
	compile := func(expr string) *regexp.Regexp {
		if expr == "" {
			return nil
		}
		return regexp.MustCompile(expr)
	}
	rc.IncludeContainer, rc.ExcludeContainer = compile(j.IncludeContainer), compile(j.ExcludeContainer)
	rc.IncludeUnit, rc.ExcludeUnit = compile(j.IncludeUnit), compile(j.ExcludeUnit)
	if j.MaxPriority < 7 {
		p := j.MaxPriority
		rc.MaxPriority = &p
	}
	switch d, since := j.StartSince(); {
	case since:
		rc.Start, rc.Since = journald.StartSince, d
	case j.Start == "head":
		rc.Start = journald.StartHead
	default:
		rc.Start = journald.StartTail
	}

	closeSink := func() {}
	if j.Sink == config.SinkOTLP {
		rc.Sink = ot.logs
	} else {
		sink, err := jsonl.Open(j.Output)
		if err != nil {
			return nil, &config.Error{Setting: "--journal.output", Problem: err.Error(), Fix: "give a writable file path, or - for standard output"}
		}
		sink.SetLogger(logger)
		rc.Sink, closeSink = sink, func() { sink.Close() }
	}
	r, err := journald.NewReader(rc)
	if err != nil {
		closeSink()
		return nil, err
	}
	deps.Logs = r
	run := func(ctx context.Context, started func()) error {
		defer closeSink()
		return r.Run(ctx, started)
	}
	return []component{{name: "journal", run: run}}, nil
}

package main

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/podexporter/podexporter/cmd/podexporter/internal/config"
	"github.com/podexporter/podexporter/collectors"
	"github.com/podexporter/podexporter/journald"
	"github.com/podexporter/podexporter/journald/journalconf"
	"github.com/podexporter/podexporter/jsonl"
	"github.com/podexporter/podexporter/otlp/otlpconf"
	"github.com/podexporter/podexporter/podman"
)

// logsSource builds the journal reader when a log sink is configured; with
// --journal.sink=none container logs are not read at all.
func logsSource(cfg *config.Config, logger *slog.Logger, deps *collectors.Deps, ot *otlpSinks) ([]component, error) {
	j := cfg.Journal
	if j.Sink == journalconf.SinkNone {
		return nil, nil
	}
	rc, err := journald.FromSettings(j)
	if err != nil {
		return nil, err
	}
	rc.Checkpoint = journald.NewCheckpoint(filepath.Join(cfg.State.Directory, "journal.cursor"))
	rc.Logger = logger
	if src, ok := deps.Podman.(*podman.Source); ok {
		rc.Enricher = snapshotEnricher{src}
	} else if flag := selectionFlag(j); flag != "" {
		// Labels and images are known only through the Podman source: without it an
		// include would pass no line and an exclude would leave none out, silently.
		return nil, &config.Error{Setting: flag, Problem: "containers' labels and images are known only through the Podman source, and no Podman collector is enabled",
			Fix: "enable a Podman collector (--collector.container is on by default), or select by name with --journal.include-container and --journal.exclude-container"}
	}

	closeSink := func() {}
	if j.Sink == journalconf.SinkOTLP {
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
	// Said once at start, so that whoever runs it knows where to look for the lines.
	t := cfg.OTLP.Target(otlpconf.SignalLogs)
	to := t.Endpoint
	if t.Protocol == otlpconf.ProtocolHTTP {
		to = t.URL()
	}
	if j.Sink == journalconf.SinkJSONL {
		to = j.Output
		if to == "-" {
			to = "standard output"
		}
	}
	logger.Info("container log lines are read from the journal", "sink", j.Sink, "to", to, "format", j.LogFormat, "multiline", j.Multiline,
		"labels", journald.LabelFormat+", "+journald.LabelMultiline)
	if j.HostLogs() {
		logger.Info("the host's own journal entries are read too", "units", j.Units, "identifiers", j.Identifiers, "matches", j.Matches, "kernel", j.Kernel)
	}
	deps.Logs = r
	run := func(ctx context.Context, started func()) error {
		defer closeSink()
		return r.Run(ctx, started)
	}
	return []component{{name: "journal", run: run}}, nil
}

// selectionFlag names a label or image selection of the logs that is set, "" when
// none is.
func selectionFlag(j journalconf.Settings) string {
	switch {
	case len(j.IncludeLabels) > 0:
		return "--journal.include-label"
	case len(j.ExcludeLabels) > 0:
		return "--journal.exclude-label"
	case j.IncludeImage != "":
		return "--journal.include-image"
	case j.ExcludeImage != "":
		return "--journal.exclude-image"
	}
	return ""
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The contrib fileexporter does not resolve at the core release pinned here, and a
// test needs far less than it offers: every accepted request as one JSON document on
// one line, visible to a reader as soon as the export call returns.

var jsonFileType = component.MustNewType("jsonfile")

// jsonFileConfig is the exporter's YAML configuration.
type jsonFileConfig struct {
	// Path is the file each request is appended to as one line of OTLP/JSON.
	Path string `mapstructure:"path"`
	// FailFile, when set, names a file whose existence makes every export fail
	// before anything is written, so tests can exercise a sender's retry and
	// drop paths against a real collector without restarting it. A file
	// containing "permanent" yields a non-retryable rejection (gRPC
	// InvalidArgument, HTTP 400); anything else a retryable one (gRPC
	// Unavailable, HTTP 503).
	FailFile string `mapstructure:"fail_file"`
}

// Validate rejects a configuration that would silently write nowhere.
func (c *jsonFileConfig) Validate() error {
	if c.Path == "" {
		return errors.New("path must be set")
	}
	return nil
}

func newJSONFileFactory() exporter.Factory {
	return exporter.NewFactory(
		jsonFileType,
		func() component.Config { return &jsonFileConfig{} },
		exporter.WithLogs(createJSONFileLogs, component.StabilityLevelDevelopment),
		exporter.WithMetrics(createJSONFileMetrics, component.StabilityLevelDevelopment),
	)
}

// jsonFile owns the open file of one exporter instance.
type jsonFile struct {
	cfg *jsonFileConfig

	mu sync.Mutex // serialises writes so lines never interleave
	f  *os.File
}

func (j *jsonFile) start(context.Context, component.Host) error {
	f, err := os.OpenFile(j.cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open jsonfile output: %w", err)
	}
	j.f = f
	return nil
}

func (j *jsonFile) shutdown(context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// injectedFailure returns the error a test asked for through FailFile, or nil.
func (j *jsonFile) injectedFailure() error {
	if j.cfg.FailFile == "" {
		return nil
	}
	b, err := os.ReadFile(j.cfg.FailFile)
	if err != nil {
		return nil
	}
	if strings.TrimSpace(string(b)) == "permanent" {
		// The status code travels to the client: without one the receiver answers a
		// permanent error with Internal, which is not what a backend rejecting bad
		// data says.
		return consumererror.NewPermanent(status.Error(codes.InvalidArgument, "jsonfile: permanent failure injected by "+j.cfg.FailFile))
	}
	return errors.New("jsonfile: retryable failure injected by " + j.cfg.FailFile)
}

// write appends doc and a newline in one write(2), so that a concurrent reader sees
// whole lines only and the data is in the kernel when the export call returns.
func (j *jsonFile) write(doc []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errors.New("jsonfile: exporter is not started")
	}
	if _, err := j.f.Write(append(doc, '\n')); err != nil {
		return fmt.Errorf("append to %s: %w", j.cfg.Path, err)
	}
	return nil
}

func (j *jsonFile) pushLogs(_ context.Context, ld plog.Logs) error {
	if err := j.injectedFailure(); err != nil {
		return err
	}
	doc, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("marshal logs: %w", err))
	}
	return j.write(doc)
}

func (j *jsonFile) pushMetrics(_ context.Context, md pmetric.Metrics) error {
	if err := j.injectedFailure(); err != nil {
		return err
	}
	doc, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("marshal metrics: %w", err))
	}
	return j.write(doc)
}

// helperOptions leave out exporterhelper's queue and retry on purpose: the export is
// synchronous, so a client's success means the line is already in the file, and a
// failure reaches the client instead of being retried inside the collector.
func helperOptions(j *jsonFile) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(j.start),
		exporterhelper.WithShutdown(j.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
	}
}

func createJSONFileLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	j := &jsonFile{cfg: cfg.(*jsonFileConfig)}
	return exporterhelper.NewLogs(ctx, set, cfg, j.pushLogs, helperOptions(j)...)
}

func createJSONFileMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	j := &jsonFile{cfg: cfg.(*jsonFileConfig)}
	return exporterhelper.NewMetrics(ctx, set, cfg, j.pushMetrics, helperOptions(j)...)
}

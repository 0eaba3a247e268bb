package main

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/service/telemetry"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// As in tools/otelcol: the stock telemetry factory brings cloud resource detectors and
// a Prometheus endpoint of the collector's own (about 200 more packages, and a
// listener the benchmark does not want), so this one gives a console logger on stderr
// and leaves metrics and traces to the service's no-op defaults. The collector then
// spends its CPU on the pipeline alone, as podexporter's figures do.

// telemetryConfig is the service::telemetry section, which has nothing to set.
type telemetryConfig struct{}

func newTelemetryFactory() telemetry.Factory {
	return telemetry.NewFactory(
		func() component.Config { return &telemetryConfig{} },
		telemetry.WithCreateLogger(createLogger),
	)
}

func createLogger(_ context.Context, set telemetry.LoggerSettings, _ component.Config) (*zap.Logger, component.ShutdownFunc, error) {
	cfg := zap.NewProductionConfig()
	cfg.Encoding = "console"
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	build := set.BuildZapLogger
	if build == nil {
		build = func(c zap.Config, opts ...zap.Option) (*zap.Logger, error) { return c.Build(opts...) }
	}
	logger, err := build(cfg)
	if err != nil {
		return nil, nil, err
	}
	// Sync fails on a pipe with EINVAL; there is nothing buffered to lose.
	return logger, func(context.Context) error { _ = logger.Sync(); return nil }, nil
}

package main

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/service/telemetry"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The stock telemetry factory (otelconftelemetry) brings cloud resource detectors and
// a Prometheus endpoint on a fixed port: about 200 more packages, among them the AWS
// SDK and Kubernetes' apimachinery, that only slow every first build of a test run.
// Tests need the collector's own log and nothing else, so this factory gives a
// console logger on stderr and leaves metrics and traces to the service's no-op
// defaults.

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
	// Sampling would hide repeats of the very error a failing test is about.
	cfg.Sampling = nil
	build := set.BuildZapLogger
	if build == nil {
		build = func(c zap.Config, opts ...zap.Option) (*zap.Logger, error) { return c.Build(opts...) }
	}
	logger, err := build(cfg)
	if err != nil {
		return nil, nil, err
	}
	// Sync fails on a terminal or pipe with EINVAL; there is nothing buffered to lose.
	return logger, func(context.Context) error { _ = logger.Sync(); return nil }, nil
}

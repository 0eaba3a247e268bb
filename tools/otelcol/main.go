// Command otelcol is a real OpenTelemetry Collector, built from the collector's own
// modules, for podexporter's OTLP tests. It receives OTLP over gRPC and HTTP and writes
// what it accepts as JSON lines (the jsonfile exporter in this folder), so a test can
// check what a genuine collector decoded rather than what a mock believes it saw.
//
// It lives in its own module so that the collector's large dependency tree never
// enters podexporter's go.mod; internal/testenv builds it on first use.
package main

import (
	"fmt"
	"os"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
)

// version is the collector core release every collector module here is pinned to.
const version = "0.165.0"

func components() (otelcol.Factories, error) {
	var (
		f   otelcol.Factories
		err error
	)
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory()); err != nil {
		return f, fmt.Errorf("receivers: %w", err)
	}
	// debug and batch are here so that deploy/examples/otelcol.yaml runs as shipped.
	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](newJSONFileFactory(), debugexporter.NewFactory()); err != nil {
		return f, fmt.Errorf("exporters: %w", err)
	}
	if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](batchprocessor.NewFactory()); err != nil {
		return f, fmt.Errorf("processors: %w", err)
	}
	f.Telemetry = newTelemetryFactory()
	return f, nil
}

func main() {
	set := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol",
			Description: "OpenTelemetry Collector for podexporter tests: OTLP in, JSON lines out",
			Version:     version,
		},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					fileprovider.NewFactory(),
					envprovider.NewFactory(),
				},
			},
		},
	}
	if err := otelcol.NewCommand(set).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "otelcol:", err)
		os.Exit(1)
	}
}

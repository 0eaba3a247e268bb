package otlp

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/grpc/credentials"
)

// The exporters' own retries are off: we retry ourselves, forever, holding the batch,
// where theirs give up after a minute and drop it.

// NewLogExporter builds the OTLP log exporter for c.
func NewLogExporter(ctx context.Context, c Config) (sdklog.Exporter, error) {
	tlsCfg, err := c.TLSFiles.Client(c.Endpoint)
	if err != nil {
		return nil, err
	}
	switch c.Protocol {
	case ProtocolGRPC:
		opts := []otlploggrpc.Option{
			otlploggrpc.WithEndpoint(c.hostPort()),
			otlploggrpc.WithHeaders(c.Headers),
			otlploggrpc.WithTimeout(c.Timeout),
			otlploggrpc.WithRetry(otlploggrpc.RetryConfig{Enabled: false}),
		}
		if tlsCfg == nil {
			opts = append(opts, otlploggrpc.WithInsecure())
		} else {
			opts = append(opts, otlploggrpc.WithTLSCredentials(credentials.NewTLS(tlsCfg)))
		}
		if c.Compression == "gzip" {
			opts = append(opts, otlploggrpc.WithCompressor("gzip"))
		}
		return otlploggrpc.New(ctx, opts...)
	case ProtocolHTTP:
		opts := []otlploghttp.Option{
			otlploghttp.WithEndpointURL(c.signalURL("/v1/logs")),
			otlploghttp.WithHeaders(c.Headers),
			otlploghttp.WithTimeout(c.Timeout),
			otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}),
		}
		if tlsCfg == nil {
			opts = append(opts, otlploghttp.WithInsecure())
		} else {
			opts = append(opts, otlploghttp.WithTLSClientConfig(tlsCfg))
		}
		if c.Compression == "gzip" {
			opts = append(opts, otlploghttp.WithCompression(otlploghttp.GzipCompression))
		} else {
			opts = append(opts, otlploghttp.WithCompression(otlploghttp.NoCompression))
		}
		return otlploghttp.New(ctx, opts...)
	}
	return nil, fmt.Errorf("otlp protocol %q is not grpc or http/protobuf", c.Protocol)
}

// NewMetricExporter builds the OTLP metric exporter for c, cumulative temporality.
func NewMetricExporter(ctx context.Context, c Config) (sdkmetric.Exporter, error) {
	tlsCfg, err := c.TLSFiles.Client(c.Endpoint)
	if err != nil {
		return nil, err
	}
	switch c.Protocol {
	case ProtocolGRPC:
		opts := []otlpmetricgrpc.Option{
			otlpmetricgrpc.WithEndpoint(c.hostPort()),
			otlpmetricgrpc.WithHeaders(c.Headers),
			otlpmetricgrpc.WithTimeout(c.Timeout),
			otlpmetricgrpc.WithRetry(otlpmetricgrpc.RetryConfig{Enabled: false}),
		}
		if tlsCfg == nil {
			opts = append(opts, otlpmetricgrpc.WithInsecure())
		} else {
			opts = append(opts, otlpmetricgrpc.WithTLSCredentials(credentials.NewTLS(tlsCfg)))
		}
		if c.Compression == "gzip" {
			opts = append(opts, otlpmetricgrpc.WithCompressor("gzip"))
		}
		return otlpmetricgrpc.New(ctx, opts...)
	case ProtocolHTTP:
		opts := []otlpmetrichttp.Option{
			otlpmetrichttp.WithEndpointURL(c.signalURL("/v1/metrics")),
			otlpmetrichttp.WithHeaders(c.Headers),
			otlpmetrichttp.WithTimeout(c.Timeout),
			otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}),
		}
		if tlsCfg == nil {
			opts = append(opts, otlpmetrichttp.WithInsecure())
		} else {
			opts = append(opts, otlpmetrichttp.WithTLSClientConfig(tlsCfg))
		}
		if c.Compression == "gzip" {
			opts = append(opts, otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
		} else {
			opts = append(opts, otlpmetrichttp.WithCompression(otlpmetrichttp.NoCompression))
		}
		return otlpmetrichttp.New(ctx, opts...)
	}
	return nil, fmt.Errorf("otlp protocol %q is not grpc or http/protobuf", c.Protocol)
}

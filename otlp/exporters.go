package otlp

import (
	"context"
	"fmt"
	"net"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/podexporter/podexporter/otlp/otlpcompress"
	"github.com/podexporter/podexporter/otlp/otlpconf"
)

// The exporters' own retries are off: we retry ourselves, forever, holding the batch,
// where theirs give up after a minute and drop it.

// NewMetricExporter builds the OTLP metric exporter for c, cumulative temporality.
func NewMetricExporter(ctx context.Context, c Config) (sdkmetric.Exporter, error) {
	installErrorHandler()
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
		// Our dial options choose the compressor; "none" here keeps the exporter
		// from adding one of its own from $OTEL_EXPORTER_OTLP_COMPRESSION.
		opts = append(opts, otlpmetricgrpc.WithCompressor("none"))
		if d := c.grpcDialOptions(); len(d) > 0 {
			opts = append(opts, otlpmetricgrpc.WithDialOption(d...))
		}
		return otlpmetricgrpc.New(ctx, opts...)
	case ProtocolHTTP:
		opts := []otlpmetrichttp.Option{
			otlpmetrichttp.WithEndpointURL(c.signalURL(otlpconf.SignalMetrics)),
			otlpmetrichttp.WithHeaders(c.Headers),
			otlpmetrichttp.WithTimeout(c.Timeout),
			otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}),
			// The client compresses (see httpClient) and carries TLS and the timeout.
			otlpmetrichttp.WithHTTPClient(c.httpClient(tlsCfg)),
			otlpmetrichttp.WithCompression(otlpmetrichttp.NoCompression),
		}
		if tlsCfg == nil {
			opts = append(opts, otlpmetrichttp.WithInsecure())
		}
		return otlpmetrichttp.New(ctx, opts...)
	}
	return nil, fmt.Errorf("otlp protocol %q is not grpc or http/protobuf", c.Protocol)
}

// grpcDialOptions picks the compressor by name, which the exporters' WithCompressor
// cannot do for anything but gzip (it turns other names into none); otlpcompress
// registers both gzip and zstd. With c.dial, connections are opened through it.
func (c Config) grpcDialOptions() []grpc.DialOption {
	var opts []grpc.DialOption
	if otlpcompress.Supported(c.Compression) {
		opts = append(opts, grpc.WithDefaultCallOptions(grpc.UseCompressor(c.Compression)))
	}
	if c.dial != nil {
		opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return c.dial(ctx, "tcp", addr)
		}))
	}
	return opts
}

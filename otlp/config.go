// Package otlp pushes podexporter's logs and metrics to OpenTelemetry receivers (the
// Collector, Fluent Bit, Vector). Unlike the SDK's batch processor it never drops what it
// has not delivered: log batches are held and retried until the receiver accepts them,
// and only then acknowledged to the journal reader, which saves its cursor.
package otlp

import (
	"time"

	"github.com/podexporter/podexporter/otlp/otlpconf"
)

// Protocols the exporters speak; the settings package owns them so that the
// configuration can name them without importing this package.
const (
	ProtocolGRPC = otlpconf.ProtocolGRPC
	ProtocolHTTP = otlpconf.ProtocolHTTP
)

// Config says where and how to export.
type Config struct {
	// Endpoint is a URL: http://host:port[/path] for plaintext, https:// for TLS.
	// Over OTLP/HTTP it is, unless PerSignal, the OTLP exporter spec's base URL, to
	// whose path v1/logs or v1/metrics is appended (otlpconf.SignalURL); over gRPC
	// only its host and port are used.
	Endpoint string
	// PerSignal says Endpoint is one signal's own URL (--otlp.logs-endpoint,
	// OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, ...), used as given; such a Config is for
	// that signal's exporter only.
	PerSignal bool
	Protocol  string
	Headers   map[string]string
	// TLSFiles configure TLS and client certificates.
	otlpconf.TLSFiles
	// Compression is "gzip", "zstd" or "none".
	Compression string
	Timeout     time.Duration
	// Setting names the setting the endpoint came from, for messages.
	Setting string

	// dial, when set, opens the exporters' connections instead of net.Dialer: the
	// export benchmark counts the bytes sent through it.
	dial dialFunc
}

// FromSettings is the exporter configuration of the logs (and the lifecycle events)
// and of the metrics, for settings that passed otlpconf.Settings.Validate: each
// signal's own settings where given, the general ones elsewhere (Settings.Target). A
// signal whose Endpoint is empty is not pushed.
func FromSettings(s otlpconf.Settings) (logs, metrics Config) {
	return fromTarget(s.Target(otlpconf.SignalLogs)), fromTarget(s.Target(otlpconf.SignalMetrics))
}

func fromTarget(t otlpconf.Target) Config {
	return Config{
		Endpoint:    t.Endpoint,
		PerSignal:   t.PerSignal,
		Protocol:    t.Protocol,
		Headers:     t.HeaderMap(),
		TLSFiles:    t.TLSFiles,
		Compression: t.Compression,
		Timeout:     t.Timeout,
		Setting:     t.EndpointSetting(),
	}
}

// signalURL is where OTLP/HTTP sends signal ("logs" or "metrics").
func (c Config) signalURL(signal string) string {
	return otlpconf.SignalURL(c.Endpoint, signal, c.PerSignal)
}

// hostPort is the endpoint for gRPC, which takes no path.
func (c Config) hostPort() string {
	return otlpconf.Target{Endpoint: c.Endpoint}.HostPort()
}

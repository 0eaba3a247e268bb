// Package otlp pushes podexporter's logs and metrics to OpenTelemetry receivers (the
// Collector, Fluent Bit, Vector). Unlike the SDK's batch processor it never drops what it
// has not delivered: log batches are held and retried until the receiver accepts them,
// and only then acknowledged to the journal reader, which saves its cursor.
package otlp

import (
	"net/url"
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
	// Endpoint is a URL: http://host:port for plaintext, https://host:port for TLS.
	// For HTTP the signal path (/v1/logs, /v1/metrics) is appended unless present.
	Endpoint string
	Protocol string
	Headers  map[string]string
	// TLSFiles configure TLS and client certificates.
	otlpconf.TLSFiles
	// Compression is "gzip", "zstd" or "none".
	Compression string
	Timeout     time.Duration

	// dial, when set, opens the exporters' connections instead of net.Dialer: the
	// export benchmark counts the bytes sent through it.
	dial dialFunc
}

// FromSettings is the exporter configuration for settings that passed
// otlpconf.Settings.Validate.
func FromSettings(s otlpconf.Settings) Config {
	return Config{
		Endpoint:    s.Endpoint,
		Protocol:    s.Protocol,
		Headers:     s.HeaderMap(),
		TLSFiles:    s.TLSFiles,
		Compression: s.Compression,
		Timeout:     s.Timeout,
	}
}

// signalURL is the endpoint for one signal over HTTP: the spec's base URL plus
// /v1/logs or /v1/metrics, unless the URL already names a path.
func (c Config) signalURL(path string) string {
	u, _ := url.Parse(c.Endpoint)
	if u.Path == "" || u.Path == "/" {
		u.Path = path
	}
	return u.String()
}

// hostPort is the endpoint for gRPC, which takes no path.
func (c Config) hostPort() string {
	u, _ := url.Parse(c.Endpoint)
	return u.Host
}

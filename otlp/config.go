// Package otlp pushes podexporter's logs and metrics to OpenTelemetry receivers (the
// Collector, Fluent Bit, Vector). Unlike the SDK's batch processor it never drops what it
// has not delivered: log batches are held and retried until the receiver accepts them,
// and only then acknowledged to the journal reader, which saves its cursor.
package otlp

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Protocols the exporters speak.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// Config says where and how to export.
type Config struct {
	// Endpoint is a URL: http://host:port for plaintext, https://host:port for TLS.
	// For HTTP the signal path (/v1/logs, /v1/metrics) is appended unless present.
	Endpoint string
	Protocol string
	Headers  map[string]string
	// CAFile, CertFile and KeyFile configure TLS and client certificates.
	CAFile, CertFile, KeyFile string
	InsecureSkipVerify        bool
	// Compression is "gzip" or "none".
	Compression string
	Timeout     time.Duration
}

// TLS builds the client TLS configuration; nil for plaintext endpoints.
func (c Config) TLS() (*tls.Config, error) {
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("otlp endpoint %q: %w", c.Endpoint, err)
	}
	if u.Scheme != "https" {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // only when asked for
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("otlp CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("otlp CA file %s: no PEM certificate in it", c.CAFile)
		}
		t.RootCAs = pool
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("otlp client certificate: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// Validate checks what can be checked before the first export: the URL, the protocol,
// and the certificate files.
func (c Config) Validate() error {
	u, err := url.Parse(c.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("otlp endpoint %q is not http://HOST:PORT or https://HOST:PORT", c.Endpoint)
	}
	if c.Protocol != ProtocolGRPC && c.Protocol != ProtocolHTTP {
		return fmt.Errorf("otlp protocol %q is not grpc or http/protobuf", c.Protocol)
	}
	if c.Compression != "gzip" && c.Compression != "none" && c.Compression != "" {
		return fmt.Errorf("otlp compression %q is not gzip or none", c.Compression)
	}
	_, err = c.TLS()
	return err
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

// ParseHeaders reads the OTEL_EXPORTER_OTLP_HEADERS form: k1=v1,k2=v2, URL-encoded values.
func ParseHeaders(s string) (map[string]string, error) {
	h := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("header %q is not key=value", part)
		}
		dv, err := url.QueryUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("header %q: %w", part, err)
		}
		h[strings.TrimSpace(k)] = dv
	}
	return h, nil
}

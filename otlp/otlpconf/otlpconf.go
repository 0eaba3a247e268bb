// Package otlpconf holds the OTLP sinks' settings, their validation and the parts of
// the exporter configuration that need no exporter: protocols, headers, TLS files. It is
// kept apart from package otlp, which pulls in the OpenTelemetry exporters and gRPC, so
// that the configuration assembly imports no sink; otlp.FromSettings turns validated
// Settings into the exporters' Config.
package otlpconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/podexporter/podexporter/internal/setting"
)

// Protocols the exporters speak.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// Settings configures the push to an OpenTelemetry receiver.
type Settings struct {
	// Endpoint is empty when nothing is pushed; else http://HOST:PORT for plaintext,
	// https://HOST:PORT for TLS.
	Endpoint string
	Protocol string
	// Headers are key=value, sent with every export.
	Headers []string
	TLSFiles
	// Compression is "gzip", "zstd" or "none".
	Compression     string
	Timeout         time.Duration
	Metrics         bool
	MetricsInterval time.Duration
	Events          bool
}

// TLSFiles are the certificate files of a TLS endpoint.
type TLSFiles struct {
	// CAFile signs the receiver's certificate; CertFile and KeyFile are the client's
	// certificate for mTLS.
	CAFile, CertFile, KeyFile string
	InsecureSkipVerify        bool
}

// Client builds the client TLS configuration for endpoint; nil for plaintext endpoints.
func (f TLSFiles) Client(endpoint string) (*tls.Config, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("otlp endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "https" {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: f.InsecureSkipVerify} //nolint:gosec // only when asked for
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("otlp CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("otlp CA file %s: no PEM certificate in it", f.CAFile)
		}
		t.RootCAs = pool
	}
	if f.CertFile != "" || f.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("otlp client certificate: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// HeaderMap returns the headers as the exporters take them; Validate has checked
// that each is key=value.
func (s *Settings) HeaderMap() map[string]string {
	h := map[string]string{}
	for _, kv := range s.Headers {
		k, v, _ := strings.Cut(kv, "=")
		h[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return h
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

// endpointFix is the fix for what only shows once the endpoint is looked at closely:
// most mistakes there come from mixing up plaintext and TLS.
const endpointFix = "see docs/configuration.md#otlp; an http:// endpoint is plaintext, https:// is TLS"

// Validate checks what can be checked before the first export: the headers, the
// durations, the URL, the protocol, the compression and the certificate files. Without
// an endpoint nothing is pushed and nothing else matters. A problem comes back as a
// *setting.Error naming the flag and the fix.
func (s *Settings) Validate() error {
	if s.Endpoint == "" {
		return nil
	}
	for _, kv := range s.Headers {
		if k, _, ok := strings.Cut(kv, "="); !ok || strings.TrimSpace(k) == "" {
			return &setting.Error{Setting: "--otlp.header", Problem: fmt.Sprintf("%q is not key=value", kv), Fix: "write it as Authorization=Bearer xyz"}
		}
	}
	if s.Timeout <= 0 {
		return &setting.Error{Setting: "--otlp.timeout", Problem: "not positive", Fix: "use a duration such as 10s"}
	}
	if s.MetricsInterval < time.Second {
		return &setting.Error{Setting: "--otlp.metrics.interval", Problem: fmt.Sprintf("%s is shorter than 1s", s.MetricsInterval), Fix: "use 1s or more; the default is 60s"}
	}
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return &setting.Error{Setting: "--otlp.endpoint", Problem: fmt.Sprintf("otlp endpoint %q is not http://HOST:PORT or https://HOST:PORT", s.Endpoint), Fix: endpointFix}
	}
	if s.Protocol != ProtocolGRPC && s.Protocol != ProtocolHTTP {
		return &setting.Error{Setting: "--otlp.protocol", Problem: fmt.Sprintf("otlp protocol %q is not grpc or http/protobuf", s.Protocol), Fix: endpointFix}
	}
	if s.Compression != "gzip" && s.Compression != "zstd" && s.Compression != "none" && s.Compression != "" {
		return &setting.Error{Setting: "--otlp.compression", Problem: fmt.Sprintf("otlp compression %q is not gzip, zstd or none", s.Compression), Fix: "use gzip (every receiver takes it), zstd (the Collector takes it over both protocols) or none; see docs/configuration.md#otlp"}
	}
	if _, err := s.TLSFiles.Client(s.Endpoint); err != nil {
		flag := "--otlp.cert-file"
		if strings.Contains(err.Error(), "CA file") {
			flag = "--otlp.ca-file"
		}
		return &setting.Error{Setting: flag, Problem: err.Error(), Fix: endpointFix}
	}
	return nil
}

// Declare declares the OTLP settings, with their defaults and the
// OTEL_EXPORTER_OTLP_* variables they fall back to, into set.
func (s *Settings) Declare(set *setting.Set) {
	env := func(name string) string { return "OTEL_EXPORTER_OTLP_" + name }
	set.String(&s.Endpoint, "otlp.endpoint", "OTLP receiver: http://HOST:PORT for plaintext, https://HOST:PORT for TLS (4317 gRPC, 4318 HTTP). Empty: no push.", "").
		WithEnv(env("ENDPOINT"), nil)
	set.String(&s.Protocol, "otlp.protocol", "grpc or http/protobuf.", ProtocolHTTP).
		WithEnv(env("PROTOCOL"), nil)
	set.Strings(&s.Headers, "otlp.header", "Header sent with every export, key=value; repeat for several.").
		WithKey("otlp.headers").WithEnv(env("HEADERS"), headersFromEnv)
	set.String(&s.CAFile, "otlp.ca-file", "CA certificate that signs the receiver's certificate.", "").
		WithEnv(env("CERTIFICATE"), nil)
	set.String(&s.CertFile, "otlp.cert-file", "Client certificate for mTLS.", "").
		WithEnv(env("CLIENT_CERTIFICATE"), nil)
	set.String(&s.KeyFile, "otlp.key-file", "Client key for mTLS.", "").
		WithEnv(env("CLIENT_KEY"), nil)
	set.Bool(&s.InsecureSkipVerify, "otlp.insecure-skip-verify", "Accept any receiver certificate (testing only).", false)
	set.String(&s.Compression, "otlp.compression", "gzip, zstd or none; zstd costs less CPU and sends fewer bytes, and the Collector takes it over both protocols.", "gzip").
		WithEnv(env("COMPRESSION"), nil)
	set.Duration(&s.Timeout, "otlp.timeout", "Deadline of one export.", 10*time.Second).
		WithEnv(env("TIMEOUT"), timeoutFromEnv).WithDoc("the variable is in milliseconds")
	set.Bool(&s.Metrics, "otlp.metrics", "Push metrics when an endpoint is set.", true)
	set.Duration(&s.MetricsInterval, "otlp.metrics.interval", "How often metrics are pushed.", time.Minute)
	set.Bool(&s.Events, "otlp.events", "Send container lifecycle events (start, died, oom, health, restart) as log records.", true)
}

// headersFromEnv reads OTEL_EXPORTER_OTLP_HEADERS (key1=value1,key2=value2, values
// URL-encoded) as --otlp.header values, in key order.
func headersFromEnv(v string) ([]string, error) {
	h, err := ParseHeaders(v)
	if err != nil {
		return nil, &setting.Error{Setting: "OTEL_EXPORTER_OTLP_HEADERS", Problem: err.Error(), Fix: "write key1=value1,key2=value2 with URL-encoded values"}
	}
	out := make([]string, 0, len(h))
	for k, v := range h {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out, nil
}

// maxTimeoutMillis is the longest OTEL_EXPORTER_OTLP_TIMEOUT a time.Duration holds.
const maxTimeoutMillis = math.MaxInt64 / int64(time.Millisecond)

// timeoutFromEnv reads OTEL_EXPORTER_OTLP_TIMEOUT, which the specification gives in
// milliseconds, as a duration.
func timeoutFromEnv(v string) ([]string, error) {
	ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || ms <= 0 || ms > maxTimeoutMillis {
		return nil, &setting.Error{Setting: "OTEL_EXPORTER_OTLP_TIMEOUT", Problem: fmt.Sprintf("%q is not a number of milliseconds", v), Fix: "write milliseconds, such as 10000"}
	}
	return []string{(time.Duration(ms) * time.Millisecond).String()}, nil
}

// Package otlpconf holds the OTLP sinks' settings, their validation and the parts of
// the exporter configuration that need no exporter: protocols, headers, TLS files. It is
// kept apart from package otlp, which pulls in the OpenTelemetry exporters and gRPC, so
// that the configuration assembly imports no sink; otlp.FromSettings turns validated
// Settings into the exporters' Config for each signal. Endpoints are read as the OTLP
// exporter spec says (see SignalURL and Settings.Target).
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

// Settings configures the push to OpenTelemetry receivers: the general settings, which
// apply to both signals, and each signal's own (ForLogs, ForMetrics), which win where
// given. Target combines them into where and how one signal is pushed.
type Settings struct {
	// Endpoint is the general endpoint, empty when only a signal's own endpoint (or
	// none) is set: http://HOST:PORT[/PATH] for plaintext, https:// for TLS. Over
	// OTLP/HTTP it is a base URL, to whose path v1/logs and v1/metrics are appended.
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
	// ForLogs and ForMetrics are each signal's own settings (--otlp.logs-*,
	// OTEL_EXPORTER_OTLP_LOGS_*; --otlp.metrics-*, OTEL_EXPORTER_OTLP_METRICS_*),
	// empty where the general ones apply. The logs' settings carry the lifecycle
	// events too, which are log records.
	ForLogs, ForMetrics Signal

	// decls are the declarations behind the fields, set by Declare: Target asks them
	// which source each value came from. Settings built by hand have none, and a
	// signal's own value then always wins.
	decls *declared
}

// Signal names, as in OTEL_EXPORTER_OTLP_<SIGNAL>_* and the OTLP/HTTP paths v1/<signal>.
const (
	SignalLogs    = "logs"
	SignalMetrics = "metrics"
)

// Signal is one signal's own settings; an empty field leaves the general setting in
// force.
type Signal struct {
	// Endpoint is the signal's full URL, used as given (over OTLP/HTTP nothing is
	// appended; an empty path is /, as the OTLP exporter spec says).
	Endpoint                  string
	Protocol                  string
	Headers                   []string
	CAFile, CertFile, KeyFile string
	Compression               string
	Timeout                   time.Duration
}

// field is one of the settings a signal can have of its own.
type field int

const (
	fEndpoint field = iota
	fProtocol
	fHeaders
	fCAFile
	fCertFile
	fKeyFile
	fCompression
	fTimeout
	nFields
)

// declared holds the declarations of the general settings and of each signal's own,
// by field.
type declared struct {
	general, logs, metrics [nFields]*setting.Setting
}

// Target is where and how one signal is pushed: each of the signal's own settings
// where it is given and not outranked, the general one otherwise.
type Target struct {
	Signal string
	// Endpoint is empty when the signal is not pushed. PerSignal says it is the
	// signal's own endpoint, used as given; else it is the general, base endpoint.
	Endpoint  string
	PerSignal bool
	Protocol  string
	Headers   []string
	TLSFiles
	Compression string
	Timeout     time.Duration
	// names[f] is the setting that gave field f, for messages.
	names [nFields]string
}

// EndpointSetting names the setting the endpoint came from, for messages.
func (t Target) EndpointSetting() string { return t.names[fEndpoint] }

// HeaderMap returns the target's headers as the exporters take them; Validate has
// checked that each is key=value.
func (t Target) HeaderMap() map[string]string { return headerMap(t.Headers) }

// URL is where an OTLP/HTTP exporter of the target posts; see SignalURL.
func (t Target) URL() string { return SignalURL(t.Endpoint, t.Signal, t.PerSignal) }

// HostPort is the address an OTLP/gRPC exporter of the target dials: the endpoint's
// host and port. gRPC has no use for the path: the OTLP exporter spec builds
// per-signal URLs for OTLP/HTTP only, and over gRPC the service and method (such as
// /opentelemetry.proto.collector.logs.v1.LogsService/Export) are fixed by the
// protocol, so a path is ignored, as the SDKs' gRPC exporters ignore it.
func (t Target) HostPort() string {
	u, err := url.Parse(t.Endpoint)
	if err != nil {
		return ""
	}
	return u.Host
}

// SignalURL is where OTLP/HTTP sends signal ("logs" or "metrics") for endpoint, by
// the OTLP exporter spec ("Endpoint URLs for OTLP/HTTP"): a signal's own endpoint
// (perSignal) is used as it is, except that an empty path is /; the general endpoint
// is a base URL to whose path v1/<signal> is appended, whatever the path, with one
// slash between (http://loki:3100/otlp and http://loki:3100/otlp/ both give
// http://loki:3100/otlp/v1/logs; http://collector:4318 gives
// http://collector:4318/v1/logs). endpoint must have passed Validate.
func SignalURL(endpoint, signal string, perSignal bool) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return endpoint
	}
	if perSignal {
		if u.Path == "" {
			u.Path, u.RawPath = "/", ""
		}
		return u.String()
	}
	suffix := "/v1/" + signal
	if u.RawPath != "" {
		u.RawPath = strings.TrimRight(u.RawPath, "/") + suffix
	}
	u.Path = strings.TrimRight(u.Path, "/") + suffix
	return u.String()
}

// Target is where and how signal (SignalLogs or SignalMetrics) is pushed. Each of
// the signal's own settings wins over the general one unless the general one came
// from a stronger source, so the order is: a flag for the signal, a flag for both,
// the file's key for the signal, the file's key for both,
// OTEL_EXPORTER_OTLP_<SIGNAL>_*, OTEL_EXPORTER_OTLP_*, the default. The
// insecure-skip-verify switch has no per-signal form.
func (s *Settings) Target(signal string) Target {
	own := &s.ForLogs
	if signal == SignalMetrics {
		own = &s.ForMetrics
	}
	var general, ownDecls *[nFields]*setting.Setting
	if s.decls != nil {
		general, ownDecls = &s.decls.general, &s.decls.logs
		if signal == SignalMetrics {
			ownDecls = &s.decls.metrics
		}
	}
	t := Target{Signal: signal}
	t.InsecureSkipVerify = s.InsecureSkipVerify
	// pick says whether the signal's own value, given (set) or not, wins for f, and
	// records the name of the setting that gives the value.
	pick := func(f field, set bool) bool {
		ownWins := set && (general == nil || ownDecls[f].From >= general[f].From)
		if ownWins {
			t.names[f] = nameOf(ownDecls, f, signal)
		} else {
			t.names[f] = nameOf(general, f, "")
		}
		return ownWins
	}
	t.Endpoint = s.Endpoint
	if pick(fEndpoint, own.Endpoint != "") {
		t.Endpoint, t.PerSignal = own.Endpoint, true
	}
	t.Protocol = s.Protocol
	if pick(fProtocol, own.Protocol != "") {
		t.Protocol = own.Protocol
	}
	t.Headers = s.Headers
	if pick(fHeaders, len(own.Headers) > 0) {
		t.Headers = own.Headers
	}
	t.CAFile = s.CAFile
	if pick(fCAFile, own.CAFile != "") {
		t.CAFile = own.CAFile
	}
	t.CertFile = s.CertFile
	if pick(fCertFile, own.CertFile != "") {
		t.CertFile = own.CertFile
	}
	t.KeyFile = s.KeyFile
	if pick(fKeyFile, own.KeyFile != "") {
		t.KeyFile = own.KeyFile
	}
	t.Compression = s.Compression
	if pick(fCompression, own.Compression != "") {
		t.Compression = own.Compression
	}
	t.Timeout = s.Timeout
	if pick(fTimeout, own.Timeout != 0) {
		t.Timeout = own.Timeout
	}
	return t
}

// flagNames are the general settings' flags (less otlp.) by field; a signal's own
// flag is --otlp.<signal>-<name>.
var flagNames = [nFields]string{"endpoint", "protocol", "header", "ca-file", "cert-file", "key-file", "compression", "timeout"}

// envNames are the OTEL_EXPORTER_OTLP_[<SIGNAL>_] suffixes by field.
var envNames = [nFields]string{"ENDPOINT", "PROTOCOL", "HEADERS", "CERTIFICATE", "CLIENT_CERTIFICATE", "CLIENT_KEY", "COMPRESSION", "TIMEOUT"}

// nameOf names the setting of field f for messages: the flag, after the environment
// variable when the value came from it. signal is "" for the general settings.
// Without declarations it is the flag alone.
func nameOf(decls *[nFields]*setting.Setting, f field, signal string) string {
	flag := "--otlp." + flagNames[f]
	if signal != "" {
		flag = "--otlp." + signal + "-" + flagNames[f]
	}
	if decls != nil && decls[f].From == setting.FromEnv {
		return decls[f].Env + " (" + flag + ")"
	}
	return flag
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

// HeaderMap returns the general headers as the exporters take them; Validate has
// checked that each is key=value.
func (s *Settings) HeaderMap() map[string]string { return headerMap(s.Headers) }

func headerMap(kvs []string) map[string]string {
	h := map[string]string{}
	for _, kv := range kvs {
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

// Validate checks what can be checked before the first export, for each signal that
// has an endpoint (its own or the general one): the headers, the timeout, the URL,
// the protocol, the compression and the certificate files; then the push interval.
// Without any endpoint nothing is pushed and nothing else matters. A problem comes
// back as a *setting.Error naming the setting (the environment variable too, when the
// value came from one) and the fix.
func (s *Settings) Validate() error {
	pushed := false
	for _, signal := range []string{SignalLogs, SignalMetrics} {
		t := s.Target(signal)
		if t.Endpoint == "" {
			continue
		}
		pushed = true
		if err := t.validate(); err != nil {
			return err
		}
	}
	if !pushed {
		return nil
	}
	if s.MetricsInterval < time.Second {
		return &setting.Error{Setting: "--otlp.metrics.interval", Problem: fmt.Sprintf("%s is shorter than 1s", s.MetricsInterval), Fix: "use 1s or more; the default is 60s"}
	}
	return nil
}

func (t Target) validate() error {
	for _, kv := range t.Headers {
		if k, _, ok := strings.Cut(kv, "="); !ok || strings.TrimSpace(k) == "" {
			return &setting.Error{Setting: t.names[fHeaders], Problem: fmt.Sprintf("%q is not key=value", kv), Fix: "write it as Authorization=Bearer xyz"}
		}
	}
	if t.Timeout <= 0 {
		return &setting.Error{Setting: t.names[fTimeout], Problem: "not positive", Fix: "use a duration such as 10s"}
	}
	if err := t.validateEndpoint(); err != nil {
		return err
	}
	if t.Protocol != ProtocolGRPC && t.Protocol != ProtocolHTTP {
		return &setting.Error{Setting: t.names[fProtocol], Problem: fmt.Sprintf("otlp protocol %q is not grpc or http/protobuf", t.Protocol),
			Fix: "use grpc or http/protobuf (http/json is not supported); " + endpointFix}
	}
	if t.Compression != "gzip" && t.Compression != "zstd" && t.Compression != "none" && t.Compression != "" {
		return &setting.Error{Setting: t.names[fCompression], Problem: fmt.Sprintf("otlp compression %q is not gzip, zstd or none", t.Compression), Fix: "use gzip (every receiver takes it), zstd (the Collector takes it over both protocols) or none; see docs/configuration.md#otlp"}
	}
	if _, err := t.TLSFiles.Client(t.Endpoint); err != nil {
		name := t.names[fCertFile]
		if strings.Contains(err.Error(), "CA file") {
			name = t.names[fCAFile]
		}
		return &setting.Error{Setting: name, Problem: err.Error(), Fix: endpointFix}
	}
	return nil
}

// validateEndpoint checks that the endpoint is an absolute http:// or https:// URL
// that says no more than what is sent: the exporters send neither a query, a fragment
// nor a user and password, so a URL with one would silently lose it. A general
// endpoint whose path already ends in the signal's path would become
// .../v1/logs/v1/logs over OTLP/HTTP; it is refused with the per-signal setting as the
// fix.
func (t Target) validateEndpoint() error {
	name := t.names[fEndpoint]
	u, err := url.Parse(t.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" {
		return &setting.Error{Setting: name, Problem: fmt.Sprintf("%q is not an absolute http:// or https:// URL", t.Endpoint),
			Fix: "write it as http://HOST:PORT (plaintext) or https://HOST:PORT (TLS), with a path if the receiver wants one, such as http://loki:3100/otlp; see docs/configuration.md#otlp"}
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return &setting.Error{Setting: name, Problem: fmt.Sprintf("%q has a user, a query or a fragment, which would not be sent", u.Redacted()),
			Fix: "leave them out; send credentials as a header (--otlp.header=Authorization=Basic ...) instead"}
	}
	if !t.PerSignal && t.Protocol == ProtocolHTTP {
		for _, signal := range []string{SignalLogs, SignalMetrics} {
			if p := strings.TrimRight(u.Path, "/"); strings.HasSuffix(p, "/v1/"+signal) {
				base := strings.TrimSuffix(p, "/v1/"+signal)
				return &setting.Error{Setting: name, Problem: fmt.Sprintf("%q already ends in /v1/%s, but v1/logs and v1/metrics are appended to the path of this base endpoint", t.Endpoint, signal),
					Fix: fmt.Sprintf("give the base, %s, or give the full URL as --otlp.%s-endpoint (OTEL_EXPORTER_OTLP_%s_ENDPOINT), which is used as given", (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: base}).String(), signal, strings.ToUpper(signal))}
			}
		}
	}
	return nil
}

// Declare declares the OTLP settings, with their defaults and the
// OTEL_EXPORTER_OTLP_* variables they fall back to, into set: the general ones, then
// each signal's own, which default to nothing (the general setting).
func (s *Settings) Declare(set *setting.Set) {
	d := &declared{}
	s.decls = d
	env := func(name string) string { return "OTEL_EXPORTER_OTLP_" + name }
	g := &d.general
	g[fEndpoint] = set.String(&s.Endpoint, "otlp.endpoint", "OTLP receiver of logs and metrics: http://HOST:PORT for plaintext, https://HOST:PORT for TLS (4317 gRPC, 4318 HTTP). Over HTTP a base URL: v1/logs and v1/metrics are appended to its path. Empty: no push, unless a signal has its own endpoint.", "").
		WithEnv(env("ENDPOINT"), nil).WithDoc("http://loki:3100/otlp sends to /otlp/v1/logs and /otlp/v1/metrics; over gRPC the path is not used")
	g[fProtocol] = set.String(&s.Protocol, "otlp.protocol", "grpc or http/protobuf.", ProtocolHTTP).
		WithEnv(env("PROTOCOL"), nil)
	g[fHeaders] = set.Strings(&s.Headers, "otlp.header", "Header sent with every export, key=value; repeat for several.").
		WithKey("otlp.headers").WithEnv(env("HEADERS"), headersFromEnv(env("HEADERS")))
	g[fCAFile] = set.String(&s.CAFile, "otlp.ca-file", "CA certificate that signs the receiver's certificate.", "").
		WithEnv(env("CERTIFICATE"), nil)
	g[fCertFile] = set.String(&s.CertFile, "otlp.cert-file", "Client certificate for mTLS.", "").
		WithEnv(env("CLIENT_CERTIFICATE"), nil)
	g[fKeyFile] = set.String(&s.KeyFile, "otlp.key-file", "Client key for mTLS.", "").
		WithEnv(env("CLIENT_KEY"), nil)
	set.Bool(&s.InsecureSkipVerify, "otlp.insecure-skip-verify", "Accept any receiver certificate (testing only).", false)
	g[fCompression] = set.String(&s.Compression, "otlp.compression", "gzip, zstd or none; zstd costs less CPU and sends fewer bytes, and the Collector takes it over both protocols.", "gzip").
		WithEnv(env("COMPRESSION"), nil)
	g[fTimeout] = set.Duration(&s.Timeout, "otlp.timeout", "Deadline of one export.", 10*time.Second).
		WithEnv(env("TIMEOUT"), timeoutFromEnv(env("TIMEOUT"))).WithDoc("the variable is in milliseconds")
	set.Bool(&s.Metrics, "otlp.metrics", "Push metrics when an endpoint is set.", true)
	set.Duration(&s.MetricsInterval, "otlp.metrics.interval", "How often metrics are pushed.", time.Minute)
	set.Bool(&s.Events, "otlp.events", "Send container lifecycle events (start, died, oom, health, restart) as log records.", true)
	s.ForLogs.declare(set, SignalLogs, "logs and lifecycle events", "http://loki:3100/otlp/v1/logs", &d.logs)
	s.ForMetrics.declare(set, SignalMetrics, "metrics", "http://prometheus:9090/api/v1/otlp/v1/metrics", &d.metrics)
}

// declare declares one signal's own settings: --otlp.<signal>-<name>, file key
// otlp.<signal>_<name>, OTEL_EXPORTER_OTLP_<SIGNAL>_<NAME>.
func (o *Signal) declare(set *setting.Set, signal, what, example string, d *[nFields]*setting.Setting) {
	flag := func(f field) string { return "otlp." + signal + "-" + flagNames[f] }
	env := func(f field) string { return "OTEL_EXPORTER_OTLP_" + strings.ToUpper(signal) + "_" + envNames[f] }
	alone := " for the " + what + " alone"
	empty := func(f field) string { return ". Empty: --otlp." + flagNames[f] + "." }
	d[fEndpoint] = set.String(&o.Endpoint, flag(fEndpoint), "Receiver"+alone+": the full URL, used as given (nothing is appended). Empty: --otlp.endpoint.", "").
		WithEnv(env(fEndpoint), nil).WithDoc("such as " + example + "; wins over --otlp.endpoint; an empty path is /, as the OTLP exporter spec says; over gRPC the path is not used")
	d[fProtocol] = set.String(&o.Protocol, flag(fProtocol), "grpc or http/protobuf"+alone+empty(fProtocol), "").
		WithEnv(env(fProtocol), nil)
	d[fHeaders] = set.Strings(&o.Headers, flag(fHeaders), "Header"+alone+", key=value; repeat for several. Replaces every --otlp.header.").
		WithKey("otlp."+signal+"_headers").WithEnv(env(fHeaders), headersFromEnv(env(fHeaders)))
	d[fCAFile] = set.String(&o.CAFile, flag(fCAFile), "CA certificate of the receiver"+alone+empty(fCAFile), "").
		WithEnv(env(fCAFile), nil)
	d[fCertFile] = set.String(&o.CertFile, flag(fCertFile), "Client certificate for mTLS"+alone+empty(fCertFile), "").
		WithEnv(env(fCertFile), nil)
	d[fKeyFile] = set.String(&o.KeyFile, flag(fKeyFile), "Client key for mTLS"+alone+empty(fKeyFile), "").
		WithEnv(env(fKeyFile), nil)
	d[fCompression] = set.String(&o.Compression, flag(fCompression), "gzip, zstd or none"+alone+empty(fCompression), "").
		WithEnv(env(fCompression), nil)
	d[fTimeout] = set.Duration(&o.Timeout, flag(fTimeout), "Deadline of one export"+alone+". 0: --otlp.timeout.", 0).
		WithEnv(env(fTimeout), timeoutFromEnv(env(fTimeout))).WithDoc("the variable is in milliseconds")
}

// headersFromEnv reads a headers variable such as OTEL_EXPORTER_OTLP_HEADERS
// (key1=value1,key2=value2, values URL-encoded) as --otlp.header values, in key order.
func headersFromEnv(name string) func(string) ([]string, error) {
	return func(v string) ([]string, error) {
		h, err := ParseHeaders(v)
		if err != nil {
			return nil, &setting.Error{Setting: name, Problem: err.Error(), Fix: "write key1=value1,key2=value2 with URL-encoded values"}
		}
		out := make([]string, 0, len(h))
		for k, v := range h {
			out = append(out, k+"="+v)
		}
		slices.Sort(out)
		return out, nil
	}
}

// maxTimeoutMillis is the longest timeout variable a time.Duration holds.
const maxTimeoutMillis = math.MaxInt64 / int64(time.Millisecond)

// timeoutFromEnv reads a timeout variable such as OTEL_EXPORTER_OTLP_TIMEOUT, which the
// specification gives in milliseconds, as a duration.
func timeoutFromEnv(name string) func(string) ([]string, error) {
	return func(v string) ([]string, error) {
		ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || ms <= 0 || ms > maxTimeoutMillis {
			return nil, &setting.Error{Setting: name, Problem: fmt.Sprintf("%q is not a number of milliseconds", v), Fix: "write milliseconds, such as 10000"}
		}
		return []string{(time.Duration(ms) * time.Millisecond).String()}, nil
	}
}

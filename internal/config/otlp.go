package config

import (
	"fmt"
	"strconv"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/podexporter/podexporter/journald/journalconf"
	"github.com/podexporter/podexporter/otlp/otlpconf"
)

func otlpFlags(flag func(name, help string) *kingpin.FlagClause, c *Config) {
	o := &c.OTLP
	flag("otlp.endpoint", "OTLP receiver: http://HOST:PORT for plaintext, https://HOST:PORT for TLS (4317 gRPC, 4318 HTTP). Empty: no push. Default $OTEL_EXPORTER_OTLP_ENDPOINT.").StringVar(&o.Endpoint)
	flag("otlp.protocol", "grpc or http/protobuf. Default $OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf.").Default(otlpconf.ProtocolHTTP).StringVar(&o.Protocol)
	flag("otlp.header", "Header sent with every export, key=value; repeat for several. Default from $OTEL_EXPORTER_OTLP_HEADERS.").StringsVar(&o.Headers)
	flag("otlp.ca-file", "CA certificate that signs the receiver's certificate. Default $OTEL_EXPORTER_OTLP_CERTIFICATE.").StringVar(&o.CAFile)
	flag("otlp.cert-file", "Client certificate for mTLS. Default $OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE.").StringVar(&o.CertFile)
	flag("otlp.key-file", "Client key for mTLS. Default $OTEL_EXPORTER_OTLP_CLIENT_KEY.").StringVar(&o.KeyFile)
	flag("otlp.insecure-skip-verify", "Accept any receiver certificate (testing only).").BoolVar(&o.InsecureSkipVerify)
	flag("otlp.compression", "gzip, zstd or none; zstd costs less CPU and sends fewer bytes, and the Collector takes it over both protocols. Default $OTEL_EXPORTER_OTLP_COMPRESSION, else gzip.").Default("gzip").StringVar(&o.Compression)
	flag("otlp.timeout", "Deadline of one export. Default $OTEL_EXPORTER_OTLP_TIMEOUT (milliseconds), else 10s.").Default("10s").SetValue(&durationValue{"--otlp.timeout", &o.Timeout})
	flag("otlp.metrics", "Push metrics when an endpoint is set.").Default("true").BoolVar(&o.Metrics)
	flag("otlp.metrics.interval", "How often metrics are pushed.").Default("60s").SetValue(&durationValue{"--otlp.metrics.interval", &o.MetricsInterval})
	flag("otlp.events", "Send container lifecycle events (start, died, oom, health, restart) as log records.").Default("true").BoolVar(&o.Events)
}

// otlpEnv applies the OTEL_EXPORTER_OTLP_* variables where no flag was given; the
// file, merged afterwards, overrides them. The Go exporters would read most of these
// themselves, but not the protocol, and we want one place that decides.
func otlpEnv(c *Config, set map[string]*bool, env Env) error {
	o := &c.OTLP
	get := func(signal, name string) string {
		if v := env.Getenv("OTEL_EXPORTER_OTLP_" + signal + name); v != "" && signal != "" {
			return v
		}
		return env.Getenv("OTEL_EXPORTER_OTLP_" + name)
	}
	str := func(flag string, dst *string, name string) {
		if v := get("", name); v != "" && !*set[flag] {
			*dst = v
		}
	}
	str("otlp.endpoint", &o.Endpoint, "ENDPOINT")
	str("otlp.protocol", &o.Protocol, "PROTOCOL")
	str("otlp.ca-file", &o.CAFile, "CERTIFICATE")
	str("otlp.cert-file", &o.CertFile, "CLIENT_CERTIFICATE")
	str("otlp.key-file", &o.KeyFile, "CLIENT_KEY")
	str("otlp.compression", &o.Compression, "COMPRESSION")
	if v := get("", "HEADERS"); v != "" && !*set["otlp.header"] {
		h, err := otlpconf.ParseHeaders(v)
		if err != nil {
			return &Error{Setting: "OTEL_EXPORTER_OTLP_HEADERS", Problem: err.Error(), Fix: "write key1=value1,key2=value2 with URL-encoded values"}
		}
		o.Headers = nil
		for k, v := range h {
			o.Headers = append(o.Headers, k+"="+v)
		}
	}
	if v := get("", "TIMEOUT"); v != "" && !*set["otlp.timeout"] {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return &Error{Setting: "OTEL_EXPORTER_OTLP_TIMEOUT", Problem: fmt.Sprintf("%q is not a number of milliseconds", v), Fix: "write milliseconds, such as 10000"}
		}
		o.Timeout = time.Duration(ms) * time.Millisecond
	}
	return nil
}

func mergeOTLP(c *Config, fc *fileConfig, set map[string]*bool) error {
	f := fc.OTLP
	o := &c.OTLP
	pick(set["otlp.endpoint"], &o.Endpoint, f.Endpoint)
	pick(set["otlp.protocol"], &o.Protocol, f.Protocol)
	pick(set["otlp.header"], &o.Headers, f.Headers)
	pick(set["otlp.ca-file"], &o.CAFile, f.CAFile)
	pick(set["otlp.cert-file"], &o.CertFile, f.CertFile)
	pick(set["otlp.key-file"], &o.KeyFile, f.KeyFile)
	pick(set["otlp.insecure-skip-verify"], &o.InsecureSkipVerify, f.InsecureSkipVerify)
	pick(set["otlp.compression"], &o.Compression, f.Compression)
	pick(set["otlp.metrics"], &o.Metrics, f.Metrics)
	pick(set["otlp.events"], &o.Events, f.Events)
	for _, d := range []struct {
		flag, key string
		dst       *time.Duration
		src       *fileDuration
	}{
		{"otlp.timeout", "otlp.timeout", &o.Timeout, f.Timeout},
		{"otlp.metrics.interval", "otlp.metrics_interval", &o.MetricsInterval, f.MetricsInterval},
	} {
		if d.src == nil || *set[d.flag] {
			continue
		}
		v, err := d.src.parse(c.ConfigFile, d.key)
		if err != nil {
			return err
		}
		*d.dst = v
	}
	return nil
}

// validateOTLP resolves the auto sink, which depends on both sections, and then lets
// the OTLP settings check themselves.
func (c *Config) validateOTLP() error {
	if c.Journal.Sink == journalconf.SinkAuto {
		c.Journal.Sink = journalconf.SinkNone
		if c.OTLP.Endpoint != "" {
			c.Journal.Sink = journalconf.SinkOTLP
		}
	}
	if c.OTLP.Endpoint == "" && c.Journal.Sink == journalconf.SinkOTLP {
		return &Error{Setting: "--journal.sink", Problem: "otlp needs an endpoint", Fix: "set --otlp.endpoint (or OTEL_EXPORTER_OTLP_ENDPOINT), or choose another sink"}
	}
	return c.OTLP.Validate()
}

package config

import (
	"github.com/podexporter/podexporter/journald/journalconf"
	"github.com/podexporter/podexporter/otlp/otlpconf"
)

// validateOTLP resolves the auto sink, which depends on both sections, and then lets
// the OTLP settings check themselves. Container logs go where the logs' endpoint is:
// --otlp.logs-endpoint (OTEL_EXPORTER_OTLP_LOGS_ENDPOINT) or the general one.
func (c *Config) validateOTLP() error {
	logs := c.OTLP.Target(otlpconf.SignalLogs).Endpoint
	if c.Journal.Sink == journalconf.SinkAuto {
		c.Journal.Sink = journalconf.SinkNone
		if logs != "" {
			c.Journal.Sink = journalconf.SinkOTLP
		}
	}
	if logs == "" && c.Journal.Sink == journalconf.SinkOTLP {
		return &Error{Setting: "--journal.sink", Problem: "otlp needs an endpoint for logs", Fix: "set --otlp.endpoint (or OTEL_EXPORTER_OTLP_ENDPOINT) or --otlp.logs-endpoint (OTEL_EXPORTER_OTLP_LOGS_ENDPOINT), or choose another sink"}
	}
	return c.OTLP.Validate()
}

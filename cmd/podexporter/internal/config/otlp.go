package config

import "github.com/podexporter/podexporter/journald/journalconf"

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

package catalog

// OTLP export self-metrics, by signal (logs: journal records and lifecycle events;
// metrics: data points).
var (
	otlpLabels = []string{"signal"}

	OTLPSent = register(Metric{Name: "podexporter_otlp_sent_total", Kind: Counter, Unit: "{item}", Group: "otlp", Labels: otlpLabels,
		Help: "Log records or metric points in exports the receiver acknowledged."})
	OTLPFailed = register(Metric{Name: "podexporter_otlp_failed_total", Kind: Counter, Unit: "{item}", Group: "otlp", Labels: otlpLabels,
		Help: "Log records or metric points in export attempts that failed."})
	OTLPRetried = register(Metric{Name: "podexporter_otlp_retried_total", Kind: Counter, Unit: "{item}", Group: "otlp", Labels: otlpLabels,
		Help: "Log records sent again after a failed attempt."})
	OTLPRejected = register(Metric{Name: "podexporter_otlp_rejected_total", Kind: Counter, Unit: "{item}", Group: "otlp", Labels: otlpLabels,
		Help: "Log records or metric points the receiver refused in a partial success."})
	OTLPDropped = register(Metric{Name: "podexporter_otlp_dropped_total", Kind: Counter, Unit: "{item}", Group: "otlp", Labels: otlpLabels,
		Help: "Lifecycle events lost to a full buffer, or metric points of a failed push (the next push carries the cumulative values)."})
	OTLPInFlight = register(Metric{Name: "podexporter_otlp_batches_in_flight", Kind: Gauge, Unit: "{batch}", Group: "otlp", Labels: otlpLabels,
		Help: "Batches being exported or retried now."})
	OTLPBackoff = register(Metric{Name: "podexporter_otlp_backoff_seconds", Kind: Gauge, Unit: "s", Group: "otlp", Labels: otlpLabels,
		Help: "Wait before the next retry; 0 while exports succeed."})
	OTLPLastSuccess = register(Metric{Name: "podexporter_otlp_last_success_timestamp_seconds", Kind: Gauge, Unit: "s", Group: "otlp", Labels: otlpLabels,
		Help: "When an export last succeeded, in unixtime."})
)

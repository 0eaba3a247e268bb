package otlp

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/podexporter/podexporter/journald"
)

// scope names the instrumentation that produced the records.
const scope = "github.com/podexporter/podexporter"

// LogSink delivers journal records as OTLP logs. It implements journald.Sink: Deliver
// returns only once the receiver accepted the batch (or ctx ended), retrying with
// capped backoff meanwhile, so the reader stops reading and saves no cursor until then.
type LogSink struct {
	exp    sdklog.Exporter
	host   Host
	logger *slog.Logger
	stats  counters
	// logRetries counts log batches (not lifecycle events) sent again.
	logRetries atomic.Uint64

	// exportMu serializes Export calls, which the exporter does not allow concurrently
	// (log batches and lifecycle events share it).
	exportMu sync.Mutex

	// Records get their resource from the LoggerProvider that emits them, so there is
	// one provider per container; emitting through it into capture turns our values
	// into SDK records without reaching into the SDK.
	mu        sync.Mutex
	capture   *captureProcessor
	providers map[string]log.Logger
}

// NewLogSink wraps an exporter; Close shuts it down.
func NewLogSink(exp sdklog.Exporter, host Host, logger *slog.Logger) *LogSink {
	s := &LogSink{exp: exp, host: host, logger: logger, capture: &captureProcessor{}, providers: map[string]log.Logger{}}
	watchPartialSuccess(partialLogs, &s.stats, logger)
	return s
}

// Stats returns the log export counters.
func (s *LogSink) Stats() Stats { return s.stats.snapshot() }

// Close shuts the exporter down.
func (s *LogSink) Close(ctx context.Context) error { return s.exp.Shutdown(ctx) }

// maxProviders bounds the provider cache; past it the cache starts over, which costs
// only re-creating providers for containers still logging.
const maxProviders = 4096

func (s *LogSink) loggerFor(key string, c *Container, more ...attribute.KeyValue) log.Logger {
	if l, ok := s.providers[key]; ok {
		return l
	}
	if len(s.providers) >= maxProviders {
		clear(s.providers)
	}
	p := sdklog.NewLoggerProvider(sdklog.WithResource(s.host.newResource(c, more...)), sdklog.WithProcessor(s.capture))
	l := p.Logger(scope)
	s.providers[key] = l
	return l
}

// Retries counts the log batches sent again after a failed export, for
// podexporter_journal_sink_retries_total.
func (s *LogSink) Retries() uint64 { return s.logRetries.Load() }

// Deliver implements journald.Sink: it returns once the receiver took the batch (or
// refused it as invalid, counted), retrying meanwhile, or when ctx ends.
func (s *LogSink) Deliver(ctx context.Context, recs []journald.Record) error {
	s.mu.Lock()
	for i := range recs {
		s.emit(ctx, &recs[i])
	}
	batch := s.capture.take()
	s.mu.Unlock()
	attempts, err := s.export(ctx, "logs", batch)
	if attempts > 1 {
		s.logRetries.Add(uint64(attempts - 1))
	}
	return err
}

// export sends one batch, retrying until it is taken, and returns the attempts made.
func (s *LogSink) export(ctx context.Context, what string, batch []sdklog.Record) (int, error) {
	if len(batch) == 0 {
		return 0, nil
	}
	s.exportMu.Lock()
	defer s.exportMu.Unlock()
	return s.stats.retry(ctx, s.logger, what, len(batch), func(ctx context.Context) error {
		return s.exp.Export(ctx, batch)
	})
}

func (s *LogSink) emit(ctx context.Context, r *journald.Record) {
	var l log.Logger
	switch {
	case r.ContainerIDFull != "" || r.ContainerID != "":
		id := r.ContainerIDFull
		if id == "" {
			id = r.ContainerID
		}
		l = s.loggerFor("c/"+id, &Container{ID: id, Name: r.ContainerName, Image: r.Image, PodID: r.PodID, PodName: r.PodName, Labels: r.Labels})
	case r.Unit != "":
		l = s.loggerFor("u/"+r.Unit, nil, attribute.String("systemd.unit", r.Unit))
	default:
		l = s.loggerFor("host", nil)
	}
	var rec log.Record
	rec.SetTimestamp(r.Time)
	rec.SetObservedTimestamp(r.Observed)
	rec.SetSeverity(log.Severity(r.Severity))
	rec.SetSeverityText(r.Severity.String())
	// OTLP strings must be UTF-8; a line that is not goes as bytes, unchanged.
	if utf8.ValidString(r.Body) {
		rec.SetBody(attribute.StringValue(r.Body))
	} else {
		rec.SetBody(attribute.ByteSliceValue([]byte(r.Body)))
	}
	attrs := []attribute.KeyValue{attribute.String("log.record.uid", r.Cursor)}
	if r.Stream != "" {
		attrs = append(attrs, attribute.String("log.iostream", r.Stream))
	}
	if r.QuadletUnit != "" {
		attrs = append(attrs, attribute.String("podman.quadlet.unit", r.QuadletUnit))
	}
	if r.ContainerTag != "" {
		attrs = append(attrs, attribute.String("container.tag", r.ContainerTag))
	}
	if r.Truncated {
		attrs = append(attrs, attribute.Bool("log.truncated", true))
	}
	for k, v := range r.Extra {
		if utf8.ValidString(v) {
			attrs = append(attrs, attribute.String("journald."+k, v))
		} else {
			attrs = append(attrs, attribute.ByteSlice("journald."+k, []byte(v)))
		}
	}
	rec.AddAttributes(attrs...)
	l.Emit(ctx, rec)
}

// captureProcessor collects what the providers emit, for the next export.
type captureProcessor struct {
	records []sdklog.Record
}

func (c *captureProcessor) OnEmit(_ context.Context, r *sdklog.Record) error {
	c.records = append(c.records, r.Clone())
	return nil
}

func (c *captureProcessor) take() []sdklog.Record {
	out := c.records
	c.records = nil
	return out
}

func (c *captureProcessor) Shutdown(context.Context) error   { return nil }
func (c *captureProcessor) ForceFlush(context.Context) error { return nil }

// Enabled admits every record: filtering happened in the journal reader.
func (c *captureProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }

package otelcoltest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// LogRecord is one log record the collector accepted, flattened with its resource
// and scope. Attribute values keep their OTLP type: string, bool, int64, float64,
// []byte, []any or map[string]any.
type LogRecord struct {
	Resource     map[string]any
	Scope        string
	ScopeVersion string
	// Time and ObservedTime are zero when the sender left them unset.
	Time           time.Time
	ObservedTime   time.Time
	SeverityNumber int
	SeverityText   string
	EventName      string
	// Body is the body as a string; a non-string body is rendered as JSON.
	Body string
	// BodyValue is the body with its OTLP type, nil when there is none.
	BodyValue  any
	Attributes map[string]any
	// AttributeCount is how many attributes the record carried: more than
	// len(Attributes) when a key repeats. DroppedAttributes is the sender's
	// dropped_attributes_count.
	AttributeCount, DroppedAttributes int
	// Flags are the record's trace flags.
	Flags uint32
	// TraceID and SpanID are in hex, as OTLP/JSON writes them; empty when unset.
	TraceID string
	SpanID  string
}

// MetricPoint is one data point the collector accepted, flattened with its metric,
// scope and resource.
type MetricPoint struct {
	Resource    map[string]any
	Scope       string
	Name        string
	Description string
	Unit        string
	// Type is gauge, sum, histogram, exponentialHistogram or summary.
	Type string
	// Temporality is cumulative or delta for sums and histograms, empty otherwise.
	Temporality string
	Monotonic   bool
	Attributes  map[string]any
	// Start is zero when the sender left it unset.
	Start time.Time
	Time  time.Time
	// Value is a gauge or sum point's value (IsInt says it travelled as asInt), or
	// a histogram's or summary's sum.
	Value float64
	IsInt bool
	// Count, BucketCounts and ExplicitBounds describe histograms and summaries.
	Count          uint64
	BucketCounts   []uint64
	ExplicitBounds []float64
}

// Logs returns every log record accepted so far, in arrival order.
func (c *Collector) Logs() []LogRecord {
	c.t.Helper()
	recs, _ := c.LogsFrom(0)
	return recs
}

// LogsFrom returns the log records accepted after byte offset off of the
// collector's output and the offset to ask from next time, so that a caller
// polling a busy collector reads each record once.
func (c *Collector) LogsFrom(off int64) ([]LogRecord, int64) {
	c.t.Helper()
	var out []LogRecord
	next := c.readLinesFrom(c.logsPath, off, func(line []byte) error {
		recs, err := decodeLogs(line)
		out = append(out, recs...)
		return err
	})
	return out, next
}

// Metrics returns every data point accepted so far, in arrival order.
func (c *Collector) Metrics() []MetricPoint {
	c.t.Helper()
	var out []MetricPoint
	c.readLines(c.metricsPath, func(line []byte) error {
		points, err := decodeMetrics(line)
		out = append(out, points...)
		return err
	})
	return out
}

// readLines calls parse for each complete line of path; a missing file is no data
// yet, and a last line without its newline is a write still in progress.
func (c *Collector) readLines(path string, parse func([]byte) error) {
	c.t.Helper()
	c.readLinesFrom(path, 0, parse)
}

// readLinesFrom is readLines from byte offset off; it returns the offset after
// the last complete line.
func (c *Collector) readLinesFrom(path string, off int64, parse func([]byte) error) int64 {
	c.t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return off
	}
	if err != nil {
		c.t.Fatalf("collector: read %s: %v", path, err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		c.t.Fatalf("collector: seek %s: %v", path, err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		c.t.Fatalf("collector: read %s: %v", path, err)
	}
	i := bytes.LastIndexByte(b, '\n')
	if i < 0 {
		return off
	}
	b = b[:i+1]
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 256<<20)
	for n := 1; sc.Scan(); n++ {
		if err := parse(sc.Bytes()); err != nil {
			c.t.Fatalf("collector: %s line %d after offset %d is not OTLP/JSON: %v", filepath.Base(path), n, off, err)
		}
	}
	if err := sc.Err(); err != nil {
		c.t.Fatalf("collector: read %s: %v", path, err)
	}
	return off + int64(len(b))
}

// Each line the jsonfile exporter of tools/otelcol writes is one request the
// collector accepted, as pdata's JSONMarshaler renders it: plog.Logs and
// pmetric.Metrics are an ExportLogsServiceRequest and an ExportMetricsServiceRequest
// (field for field the same as LogsData and MetricsData, which OTLP defines for
// files), in OTLP/JSON. OTLP/JSON is the protobuf JSON mapping with one exception,
// below, so protojson reads it into the OTLP protobuf types; fields this version of
// the types does not know yet are skipped, as a newer collector may write them.
var unmarshalOptions = protojson.UnmarshalOptions{DiscardUnknown: true}

// decodeLogs flattens one line of the logs file.
func decodeLogs(line []byte) ([]LogRecord, error) {
	var doc collogs.ExportLogsServiceRequest
	if err := unmarshalOptions.Unmarshal(line, &doc); err != nil {
		return nil, err
	}
	return flattenLogs(&doc, idText), nil
}

// DecodeLogsRequest flattens an ExportLogsServiceRequest as a sender puts it on the
// wire, in protobuf, decoded by the protobuf package's generated types, which refuse
// a string that is not UTF-8 as receivers do: for tests of a sender's own encoding.
// Records of one ResourceLogs share their Resource map.
func DecodeLogsRequest(b []byte) ([]LogRecord, error) {
	var doc collogs.ExportLogsServiceRequest
	if err := proto.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	return flattenLogs(&doc, hex.EncodeToString), nil
}

// flattenLogs flattens a request into its records; id renders trace and span ids.
func flattenLogs(doc *collogs.ExportLogsServiceRequest, id func([]byte) string) []LogRecord {
	var out []LogRecord
	for _, rl := range doc.GetResourceLogs() {
		res := attrMap(rl.GetResource().GetAttributes())
		for _, sl := range rl.GetScopeLogs() {
			for _, lr := range sl.GetLogRecords() {
				r := LogRecord{
					Resource:          res,
					Scope:             sl.GetScope().GetName(),
					ScopeVersion:      sl.GetScope().GetVersion(),
					Time:              unixNano(lr.GetTimeUnixNano()),
					ObservedTime:      unixNano(lr.GetObservedTimeUnixNano()),
					SeverityNumber:    int(lr.GetSeverityNumber()),
					SeverityText:      lr.GetSeverityText(),
					EventName:         lr.GetEventName(),
					Attributes:        attrMap(lr.GetAttributes()),
					AttributeCount:    len(lr.GetAttributes()),
					DroppedAttributes: int(lr.GetDroppedAttributesCount()),
					Flags:             lr.GetFlags(),
					TraceID:           id(lr.GetTraceId()),
					SpanID:            id(lr.GetSpanId()),
				}
				// pdata writes "body":{} for a record without one: BodyValue is nil
				// then and Body is "null", as for an explicit empty value.
				if lr.GetBody() != nil {
					r.BodyValue = value(lr.GetBody())
					if s, ok := r.BodyValue.(string); ok {
						r.Body = s
					} else {
						b, _ := json.Marshal(r.BodyValue)
						r.Body = string(b)
					}
				}
				out = append(out, r)
			}
		}
	}
	return out
}

// idText undoes the one place where OTLP/JSON departs from the protobuf JSON
// mapping: trace and span ids are written in hex, not base64, and protojson reads
// them as base64. Both hex alphabets are inside base64's, and ids are 32 and 16
// characters, whole groups of four without padding, so decoding lost nothing and
// encoding again gives back exactly the text the collector wrote.
func idText(b []byte) string {
	return base64.StdEncoding.EncodeToString(b)
}

// decodeMetrics flattens one line of the metrics file into its data points.
func decodeMetrics(line []byte) ([]MetricPoint, error) {
	var doc colmetrics.ExportMetricsServiceRequest
	if err := unmarshalOptions.Unmarshal(line, &doc); err != nil {
		return nil, err
	}
	var out []MetricPoint
	for _, rm := range doc.GetResourceMetrics() {
		res := attrMap(rm.GetResource().GetAttributes())
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				base := MetricPoint{Resource: res, Scope: sm.GetScope().GetName(), Name: m.GetName(), Description: m.GetDescription(), Unit: m.GetUnit()}
				out = append(out, points(m, base)...)
			}
		}
	}
	return out, nil
}

// value is an AnyValue as a Go value: string, bool, int64, float64, []byte (never
// nil, also when empty), []any, map[string]any, or nil when none is set.
func value(v *commonpb.AnyValue) any {
	switch v := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return v.StringValue
	case *commonpb.AnyValue_BoolValue:
		return v.BoolValue
	case *commonpb.AnyValue_IntValue:
		return v.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return v.DoubleValue
	case *commonpb.AnyValue_BytesValue:
		if v.BytesValue == nil {
			return []byte{}
		}
		return v.BytesValue
	case *commonpb.AnyValue_ArrayValue:
		values := v.ArrayValue.GetValues()
		out := make([]any, 0, len(values))
		for _, e := range values {
			out = append(out, value(e))
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		return attrMap(v.KvlistValue.GetValues())
	}
	return nil
}

// attrMap is a list of attributes as a map, never nil; a repeated key keeps its last
// value.
func attrMap(kvs []*commonpb.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = value(kv.GetValue())
	}
	return m
}

// unixNano is the point in time of a *UnixNano field; 0 means unset.
func unixNano(ns uint64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(ns))
}

func points(m *metricspb.Metric, base MetricPoint) []MetricPoint {
	var out []MetricPoint
	number := func(dps []*metricspb.NumberDataPoint) {
		for _, dp := range dps {
			p := base
			p.Attributes = attrMap(dp.GetAttributes())
			p.Start, p.Time = unixNano(dp.GetStartTimeUnixNano()), unixNano(dp.GetTimeUnixNano())
			switch v := dp.GetValue().(type) {
			case *metricspb.NumberDataPoint_AsInt:
				p.Value, p.IsInt = float64(v.AsInt), true
			case *metricspb.NumberDataPoint_AsDouble:
				p.Value = v.AsDouble
			}
			out = append(out, p)
		}
	}
	// distribution fills what histograms, exponential histograms and summaries
	// share; each kind adds its own fields.
	distribution := func(attrs []*commonpb.KeyValue, start, at, count uint64, sum *float64) MetricPoint {
		p := base
		p.Attributes = attrMap(attrs)
		p.Start, p.Time = unixNano(start), unixNano(at)
		p.Count = count
		if sum != nil {
			p.Value = *sum
		}
		return p
	}
	switch d := m.GetData().(type) {
	case *metricspb.Metric_Gauge:
		base.Type = "gauge"
		number(d.Gauge.GetDataPoints())
	case *metricspb.Metric_Sum:
		base.Type, base.Temporality, base.Monotonic = "sum", temporality(d.Sum.GetAggregationTemporality()), d.Sum.GetIsMonotonic()
		number(d.Sum.GetDataPoints())
	case *metricspb.Metric_Histogram:
		base.Type, base.Temporality = "histogram", temporality(d.Histogram.GetAggregationTemporality())
		for _, dp := range d.Histogram.GetDataPoints() {
			p := distribution(dp.GetAttributes(), dp.GetStartTimeUnixNano(), dp.GetTimeUnixNano(), dp.GetCount(), dp.Sum)
			// nil, not empty, when the point has none.
			p.BucketCounts = append([]uint64(nil), dp.GetBucketCounts()...)
			p.ExplicitBounds = append([]float64(nil), dp.GetExplicitBounds()...)
			out = append(out, p)
		}
	case *metricspb.Metric_ExponentialHistogram:
		base.Type, base.Temporality = "exponentialHistogram", temporality(d.ExponentialHistogram.GetAggregationTemporality())
		for _, dp := range d.ExponentialHistogram.GetDataPoints() {
			out = append(out, distribution(dp.GetAttributes(), dp.GetStartTimeUnixNano(), dp.GetTimeUnixNano(), dp.GetCount(), dp.Sum))
		}
	case *metricspb.Metric_Summary:
		base.Type = "summary"
		for _, dp := range d.Summary.GetDataPoints() {
			sum := dp.GetSum()
			out = append(out, distribution(dp.GetAttributes(), dp.GetStartTimeUnixNano(), dp.GetTimeUnixNano(), dp.GetCount(), &sum))
		}
	}
	return out
}

func temporality(t metricspb.AggregationTemporality) string {
	switch t {
	case metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA:
		return "delta"
	case metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE:
		return "cumulative"
	}
	return ""
}

package testenv

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"
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
	TraceID    string
	SpanID     string
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
		var doc otlpLogs
		if err := json.Unmarshal(line, &doc); err != nil {
			return err
		}
		for _, rl := range doc.ResourceLogs {
			res := attrMap(rl.Resource.Attributes)
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					r := LogRecord{
						Resource:       res,
						Scope:          sl.Scope.Name,
						ScopeVersion:   sl.Scope.Version,
						Time:           lr.TimeUnixNano.time(),
						ObservedTime:   lr.ObservedTimeUnixNano.time(),
						SeverityNumber: int(lr.SeverityNumber),
						SeverityText:   lr.SeverityText,
						EventName:      lr.EventName,
						Attributes:     attrMap(lr.Attributes),
						TraceID:        lr.TraceID,
						SpanID:         lr.SpanID,
					}
					if lr.Body != nil {
						r.BodyValue = lr.Body.value()
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
		return nil
	})
	return out, next
}

// Metrics returns every data point accepted so far, in arrival order.
func (c *Collector) Metrics() []MetricPoint {
	c.t.Helper()
	var out []MetricPoint
	c.readLines(c.metricsPath, func(line []byte) error {
		var doc otlpMetrics
		if err := json.Unmarshal(line, &doc); err != nil {
			return err
		}
		for _, rm := range doc.ResourceMetrics {
			res := attrMap(rm.Resource.Attributes)
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					base := MetricPoint{Resource: res, Scope: sm.Scope.Name, Name: m.Name, Description: m.Description, Unit: m.Unit}
					out = append(out, m.points(base)...)
				}
			}
		}
		return nil
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

type otlpLogs struct {
	ResourceLogs []struct {
		Resource  otlpResource `json:"resource"`
		ScopeLogs []struct {
			Scope      otlpScope `json:"scope"`
			LogRecords []struct {
				TimeUnixNano         jsonUint64    `json:"timeUnixNano"`
				ObservedTimeUnixNano jsonUint64    `json:"observedTimeUnixNano"`
				SeverityNumber       jsonEnum      `json:"severityNumber"`
				SeverityText         string        `json:"severityText"`
				EventName            string        `json:"eventName"`
				Body                 *otlpAnyValue `json:"body"`
				Attributes           []otlpKV      `json:"attributes"`
				TraceID              string        `json:"traceId"`
				SpanID               string        `json:"spanId"`
			} `json:"logRecords"`
		} `json:"scopeLogs"`
	} `json:"resourceLogs"`
}

type otlpMetrics struct {
	ResourceMetrics []struct {
		Resource     otlpResource `json:"resource"`
		ScopeMetrics []struct {
			Scope   otlpScope    `json:"scope"`
			Metrics []otlpMetric `json:"metrics"`
		} `json:"scopeMetrics"`
	} `json:"resourceMetrics"`
}

type otlpResource struct {
	Attributes []otlpKV `json:"attributes"`
}

type otlpScope struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type otlpKV struct {
	Key   string       `json:"key"`
	Value otlpAnyValue `json:"value"`
}

type otlpAnyValue struct {
	StringValue *string                          `json:"stringValue"`
	BoolValue   *bool                            `json:"boolValue"`
	IntValue    *jsonInt64                       `json:"intValue"`
	DoubleValue *jsonFloat64                     `json:"doubleValue"`
	BytesValue  *string                          `json:"bytesValue"`
	ArrayValue  *struct{ Values []otlpAnyValue } `json:"arrayValue"`
	KvlistValue *struct{ Values []otlpKV }       `json:"kvlistValue"`
}

func (v *otlpAnyValue) value() any {
	switch {
	case v.StringValue != nil:
		return *v.StringValue
	case v.BoolValue != nil:
		return *v.BoolValue
	case v.IntValue != nil:
		return int64(*v.IntValue)
	case v.DoubleValue != nil:
		return float64(*v.DoubleValue)
	case v.BytesValue != nil:
		b, err := base64.StdEncoding.DecodeString(*v.BytesValue)
		if err != nil {
			return *v.BytesValue
		}
		return b
	case v.ArrayValue != nil:
		out := make([]any, 0, len(v.ArrayValue.Values))
		for i := range v.ArrayValue.Values {
			out = append(out, v.ArrayValue.Values[i].value())
		}
		return out
	case v.KvlistValue != nil:
		return attrMap(v.KvlistValue.Values)
	}
	return nil
}

func attrMap(kvs []otlpKV) map[string]any {
	m := make(map[string]any, len(kvs))
	for i := range kvs {
		m[kvs[i].Key] = kvs[i].Value.value()
	}
	return m
}

type otlpNumberPoint struct {
	Attributes        []otlpKV     `json:"attributes"`
	StartTimeUnixNano jsonUint64   `json:"startTimeUnixNano"`
	TimeUnixNano      jsonUint64   `json:"timeUnixNano"`
	AsInt             *jsonInt64   `json:"asInt"`
	AsDouble          *jsonFloat64 `json:"asDouble"`
}

type otlpHistogramPoint struct {
	Attributes        []otlpKV      `json:"attributes"`
	StartTimeUnixNano jsonUint64    `json:"startTimeUnixNano"`
	TimeUnixNano      jsonUint64    `json:"timeUnixNano"`
	Count             jsonUint64    `json:"count"`
	Sum               *jsonFloat64  `json:"sum"`
	BucketCounts      []jsonUint64  `json:"bucketCounts"`
	ExplicitBounds    []jsonFloat64 `json:"explicitBounds"`
}

type otlpMetric struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Unit        string `json:"unit"`
	Gauge       *struct {
		DataPoints []otlpNumberPoint `json:"dataPoints"`
	} `json:"gauge"`
	Sum *struct {
		DataPoints             []otlpNumberPoint `json:"dataPoints"`
		AggregationTemporality jsonEnum          `json:"aggregationTemporality"`
		IsMonotonic            bool              `json:"isMonotonic"`
	} `json:"sum"`
	Histogram *struct {
		DataPoints             []otlpHistogramPoint `json:"dataPoints"`
		AggregationTemporality jsonEnum             `json:"aggregationTemporality"`
	} `json:"histogram"`
	ExponentialHistogram *struct {
		DataPoints             []otlpHistogramPoint `json:"dataPoints"`
		AggregationTemporality jsonEnum             `json:"aggregationTemporality"`
	} `json:"exponentialHistogram"`
	Summary *struct {
		DataPoints []otlpHistogramPoint `json:"dataPoints"`
	} `json:"summary"`
}

func (m *otlpMetric) points(base MetricPoint) []MetricPoint {
	var out []MetricPoint
	number := func(dps []otlpNumberPoint) {
		for _, dp := range dps {
			p := base
			p.Attributes = attrMap(dp.Attributes)
			p.Start, p.Time = dp.StartTimeUnixNano.time(), dp.TimeUnixNano.time()
			if dp.AsInt != nil {
				p.Value, p.IsInt = float64(*dp.AsInt), true
			} else if dp.AsDouble != nil {
				p.Value = float64(*dp.AsDouble)
			}
			out = append(out, p)
		}
	}
	histogram := func(dps []otlpHistogramPoint) {
		for _, dp := range dps {
			p := base
			p.Attributes = attrMap(dp.Attributes)
			p.Start, p.Time = dp.StartTimeUnixNano.time(), dp.TimeUnixNano.time()
			p.Count = uint64(dp.Count)
			if dp.Sum != nil {
				p.Value = float64(*dp.Sum)
			}
			for _, b := range dp.BucketCounts {
				p.BucketCounts = append(p.BucketCounts, uint64(b))
			}
			for _, b := range dp.ExplicitBounds {
				p.ExplicitBounds = append(p.ExplicitBounds, float64(b))
			}
			out = append(out, p)
		}
	}
	switch {
	case m.Gauge != nil:
		base.Type = "gauge"
		number(m.Gauge.DataPoints)
	case m.Sum != nil:
		base.Type, base.Temporality, base.Monotonic = "sum", m.Sum.AggregationTemporality.temporality(), m.Sum.IsMonotonic
		number(m.Sum.DataPoints)
	case m.Histogram != nil:
		base.Type, base.Temporality = "histogram", m.Histogram.AggregationTemporality.temporality()
		histogram(m.Histogram.DataPoints)
	case m.ExponentialHistogram != nil:
		base.Type, base.Temporality = "exponentialHistogram", m.ExponentialHistogram.AggregationTemporality.temporality()
		histogram(m.ExponentialHistogram.DataPoints)
	case m.Summary != nil:
		base.Type = "summary"
		histogram(m.Summary.DataPoints)
	}
	return out
}

// jsonUint64 is a uint64 that OTLP/JSON writes as a decimal string.
type jsonUint64 uint64

func (u *jsonUint64) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseUint(string(bytes.Trim(b, `"`)), 10, 64)
	*u = jsonUint64(v)
	return err
}

// time is the point in time of a *UnixNano field; 0 means unset.
func (u jsonUint64) time() time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(u))
}

// jsonInt64 is an int64 that OTLP/JSON writes as a decimal string.
type jsonInt64 int64

func (i *jsonInt64) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseInt(string(bytes.Trim(b, `"`)), 10, 64)
	*i = jsonInt64(v)
	return err
}

// jsonFloat64 accepts the strings protobuf JSON uses for non-finite doubles.
type jsonFloat64 float64

func (f *jsonFloat64) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*f = jsonFloat64(math.NaN())
		return nil
	case `"Infinity"`:
		*f = jsonFloat64(math.Inf(1))
		return nil
	case `"-Infinity"`:
		*f = jsonFloat64(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(string(bytes.Trim(b, `"`)), 64)
	*f = jsonFloat64(v)
	return err
}

// jsonEnum is a protobuf enum, written as its number or, by some encoders, its name.
type jsonEnum int32

var enumNames = map[string]int32{
	"AGGREGATION_TEMPORALITY_UNSPECIFIED": 0,
	"AGGREGATION_TEMPORALITY_DELTA":       1,
	"AGGREGATION_TEMPORALITY_CUMULATIVE":  2,
}

func (e *jsonEnum) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		name := bytes.Trim(b, `"`)
		if v, ok := enumNames[string(name)]; ok {
			*e = jsonEnum(v)
			return nil
		}
		if v, ok := severityNames[string(name)]; ok {
			*e = jsonEnum(v)
			return nil
		}
		return fmt.Errorf("unknown enum value %s", b)
	}
	v, err := strconv.ParseInt(string(b), 10, 32)
	*e = jsonEnum(v)
	return err
}

// severityNames maps SEVERITY_NUMBER_TRACE..FATAL4 to 1..24.
var severityNames = func() map[string]int32 {
	m := map[string]int32{"SEVERITY_NUMBER_UNSPECIFIED": 0}
	for i, level := range []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"} {
		m["SEVERITY_NUMBER_"+level] = int32(i*4 + 1)
		for n := 2; n <= 4; n++ {
			m["SEVERITY_NUMBER_"+level+strconv.Itoa(n)] = int32(i*4 + n)
		}
	}
	return m
}()

func (e jsonEnum) temporality() string {
	switch e {
	case 1:
		return "delta"
	case 2:
		return "cumulative"
	}
	return ""
}

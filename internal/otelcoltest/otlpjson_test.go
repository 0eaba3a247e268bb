package otelcoltest

import (
	"math"
	"reflect"
	"testing"
	"time"
)

// The lines below are what tools/otelcol's jsonfile exporter writes (pdata's
// JSONMarshaler): 64-bit integers as strings, enums as numbers, non-finite doubles
// as strings, bytes in base64, trace and span ids in hex, "body":{} for a record
// without a body.

const logsLine = `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"x"}},{"key":"n","value":{"intValue":"-5"}}]},"scopeLogs":[{"scope":{"name":"scope","version":"v1"},"logRecords":[` +
	`{"timeUnixNano":"1800000000123456789","observedTimeUnixNano":"1800000000123456790","severityNumber":13,"severityText":"WARN","body":{"stringValue":"hello"}},` +
	`{"severityNumber":13,"body":{}},` +
	`{"body":{"bytesValue":"/wBh"}},` +
	`{"body":{"bytesValue":""}},` +
	`{"body":{"intValue":"-9223372036854775808"}},` +
	`{"body":{"doubleValue":"-Infinity"}},` +
	`{"body":{"kvlistValue":{"values":[{"key":"a","value":{"stringValue":"b"}},{"key":"s","value":{"arrayValue":{"values":[{"intValue":"3"},{}]}}},{"key":"by","value":{"bytesValue":"eHl6"}},{"key":"nothing","value":{}},{"key":"empty","value":{"kvlistValue":{}}}]}},` +
	`"attributes":[{"key":"k","value":{"stringValue":"v"}},{"key":"nan","value":{"doubleValue":"NaN"}},{"key":"ok","value":{"boolValue":true}},{"key":"emptyslice","value":{"arrayValue":{}}}],` +
	`"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","eventName":"ev","futureField":{"x":1}}]}]},` +
	`{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{"stringValue":"bare"}}]}]}]}`

const metricsLine = `{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"m"}}]},"scopeMetrics":[{"scope":{"name":"ms"},"metrics":[` +
	`{"name":"g","description":"desc","unit":"1","gauge":{"dataPoints":[{"timeUnixNano":"5","asDouble":"NaN"},{"attributes":[{"key":"a","value":{"stringValue":"b"}}],"asInt":"-7"},{}]}},` +
	`{"name":"s","sum":{"dataPoints":[{"startTimeUnixNano":"1","timeUnixNano":"2","asDouble":0.25,"exemplars":[{"asDouble":1,"traceId":"01020300000000000000000000000000"}]}],"aggregationTemporality":1,"isMonotonic":true}},` +
	`{"name":"h","histogram":{"dataPoints":[{"count":"10","sum":3.5,"bucketCounts":["1","2","7"],"explicitBounds":[0.5,1],"min":0.1},{}],"aggregationTemporality":2}},` +
	`{"name":"eh","exponentialHistogram":{"dataPoints":[{"count":"4","sum":2,"scale":2,"positive":{"bucketCounts":["1","3"]},"negative":{}}],"aggregationTemporality":1}},` +
	`{"name":"q","summary":{"dataPoints":[{"count":"3","sum":6,"quantileValues":[{"quantile":0.5,"value":2}]}]}},` +
	`{"name":"nodata"}]}]}]}`

func TestDecodeLogs(t *testing.T) {
	recs, err := decodeLogs([]byte(logsLine))
	if err != nil {
		t.Fatal(err)
	}
	res := map[string]any{"service.name": "x", "n": int64(-5)}
	none := map[string]any{}
	want := []LogRecord{
		{Resource: res, Scope: "scope", ScopeVersion: "v1", Time: time.Unix(0, 1800000000123456789), ObservedTime: time.Unix(0, 1800000000123456790),
			SeverityNumber: 13, SeverityText: "WARN", Body: "hello", BodyValue: "hello", Attributes: none},
		{Resource: res, Scope: "scope", ScopeVersion: "v1", SeverityNumber: 13, Body: "null", Attributes: none},
		{Resource: res, Scope: "scope", ScopeVersion: "v1", Body: `"/wBh"`, BodyValue: []byte{0xff, 0, 'a'}, Attributes: none},
		{Resource: res, Scope: "scope", ScopeVersion: "v1", Body: `""`, BodyValue: []byte{}, Attributes: none},
		{Resource: res, Scope: "scope", ScopeVersion: "v1", Body: "-9223372036854775808", BodyValue: int64(math.MinInt64), Attributes: none},
		// encoding/json cannot render -Inf: Body stays empty.
		{Resource: res, Scope: "scope", ScopeVersion: "v1", BodyValue: math.Inf(-1), Attributes: none},
		{Resource: res, Scope: "scope", ScopeVersion: "v1",
			Body:      `{"a":"b","by":"eHl6","empty":{},"nothing":null,"s":[3,null]}`,
			BodyValue: map[string]any{"a": "b", "s": []any{int64(3), nil}, "by": []byte("xyz"), "nothing": nil, "empty": map[string]any{}},
			// NaN is checked apart: it equals nothing.
			Attributes: map[string]any{"k": "v", "ok": true, "emptyslice": []any{}},
			TraceID:    "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", EventName: "ev", AttributeCount: 4},
		{Resource: none, Body: "bare", BodyValue: "bare", Attributes: none},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d: %#v", len(recs), len(want), recs)
	}
	if nan, ok := recs[6].Attributes["nan"].(float64); !ok || !math.IsNaN(nan) {
		t.Errorf("attribute nan = %#v, want NaN", recs[6].Attributes["nan"])
	}
	delete(recs[6].Attributes, "nan")
	for i := range want {
		if !reflect.DeepEqual(recs[i], want[i]) {
			t.Errorf("record %d:\n got %#v\nwant %#v", i, recs[i], want[i])
		}
	}
}

func TestDecodeMetrics(t *testing.T) {
	points, err := decodeMetrics([]byte(metricsLine))
	if err != nil {
		t.Fatal(err)
	}
	res := map[string]any{"service.name": "m"}
	none := map[string]any{}
	g := MetricPoint{Resource: res, Scope: "ms", Name: "g", Description: "desc", Unit: "1", Type: "gauge", Attributes: none}
	want := []MetricPoint{
		{}, // NaN, checked apart
		func() MetricPoint {
			p := g
			p.Attributes = map[string]any{"a": "b"}
			p.Value, p.IsInt = -7, true
			return p
		}(),
		g,
		{Resource: res, Scope: "ms", Name: "s", Type: "sum", Temporality: "delta", Monotonic: true, Attributes: none,
			Start: time.Unix(0, 1), Time: time.Unix(0, 2), Value: 0.25},
		{Resource: res, Scope: "ms", Name: "h", Type: "histogram", Temporality: "cumulative", Attributes: none,
			Value: 3.5, Count: 10, BucketCounts: []uint64{1, 2, 7}, ExplicitBounds: []float64{0.5, 1}},
		{Resource: res, Scope: "ms", Name: "h", Type: "histogram", Temporality: "cumulative", Attributes: none},
		{Resource: res, Scope: "ms", Name: "eh", Type: "exponentialHistogram", Temporality: "delta", Attributes: none, Value: 2, Count: 4},
		{Resource: res, Scope: "ms", Name: "q", Type: "summary", Attributes: none, Value: 6, Count: 3},
	}
	if len(points) != len(want) {
		t.Fatalf("got %d points, want %d: %#v", len(points), len(want), points)
	}
	if p := points[0]; p.Name != "g" || !math.IsNaN(p.Value) || p.IsInt || !p.Time.Equal(time.Unix(0, 5)) {
		t.Errorf("point 0 = %#v, want gauge g NaN at 5ns", p)
	}
	for i := 1; i < len(want); i++ {
		if !reflect.DeepEqual(points[i], want[i]) {
			t.Errorf("point %d:\n got %#v\nwant %#v", i, points[i], want[i])
		}
	}
}

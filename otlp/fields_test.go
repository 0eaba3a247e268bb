package otlp

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"

	"github.com/podexporter/podexporter/journald/logparse"
	"github.com/podexporter/podexporter/logrecord"
)

// TestLogSinkParsedRecords: what a log format read from a line reaches OTLP with its
// types (numbers, booleans, nulls, lists, nested maps), a map body when the object is
// the body, the severity text as the line wrote it, and the trace context, even a
// trace id without a span id (which a span context in ctx could not carry).
func TestLogSinkParsedRecords(t *testing.T) {
	exp := &memExporter{}
	s := NewLogSink(exp, Host{ServiceName: "podexporter-test", HostName: "h"}, quiet())
	nested := logparse.Object{{Key: "id", Value: int64(42)}, {Key: "items", Value: []any{"a", int64(2), true}}}
	trace := [16]byte{0x4b, 0xf9, 15: 0x36}
	recs := []logrecord.Record{
		{Time: time.Unix(1700000000, 0), Body: "disk almost full", ContainerID: "aaaaaaaaaaaa", Cursor: "s=x;i=1", Severity: 13, Lines: 1,
			Parsed: &logparse.Line{Format: logparse.JSON, Message: "disk almost full", HasMessage: true, Severity: 13, SeverityText: "warning",
				Fields: logparse.Object{{Key: "user", Value: "ana"}, {Key: "free_mb", Value: int64(512)}, {Key: "ratio", Value: 0.5},
					{Key: "ok", Value: false}, {Key: "gone", Value: nil}, {Key: "order", Value: nested}, {Key: "raw", Value: "\xff"},
					{Key: "log.record.uid", Value: "spoofed"}},
				TraceID: trace, SpanID: [8]byte{7: 1}, TraceFlags: 1}},
		{Time: time.Unix(1700000000, 0), Body: `{"msg":"x","n":1}`, ContainerID: "aaaaaaaaaaaa", Cursor: "s=x;i=2", Severity: 9, Lines: 3,
			Parsed: &logparse.Line{Format: logparse.JSON, Object: logparse.Object{{Key: "msg", Value: "x"}, {Key: "n", Value: int64(1)}}, TraceID: trace}},
	}
	if err := s.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	got := exp.records()
	if len(got) != 2 {
		t.Fatalf("%d records, want 2", len(got))
	}
	r := got[0]
	if r.Body.GetStringValue() != "disk almost full" || r.SeverityText != "warning" || r.SeverityNumber != 13 {
		t.Errorf("body %v severity %d %q", r.Body, r.SeverityNumber, r.SeverityText)
	}
	attrs := attrMap(r.Attributes)
	uids := 0
	for _, kv := range r.Attributes {
		if kv.Key == "log.record.uid" {
			uids++
		}
	}
	if uids != 1 {
		t.Errorf("log.record.uid appears %d times, want once", uids)
	}
	isType := func(typ any) func(*commonpb.AnyValue) bool {
		return func(v *commonpb.AnyValue) bool { return fmt.Sprintf("%T", v.GetValue()) == fmt.Sprintf("%T", typ) }
	}
	for _, c := range []struct {
		key  string
		is   func(*commonpb.AnyValue) bool
		text string
	}{
		{"user", isType(&commonpb.AnyValue_StringValue{}), "ana"},
		{"free_mb", isType(&commonpb.AnyValue_IntValue{}), "512"},
		{"ratio", isType(&commonpb.AnyValue_DoubleValue{}), "0.5"},
		{"ok", isType(&commonpb.AnyValue_BoolValue{}), "false"},
		{"gone", func(v *commonpb.AnyValue) bool { return v.GetValue() == nil }, ""},
		{"order", isType(&commonpb.AnyValue_KvlistValue{}), ""},
		{"raw", isType(&commonpb.AnyValue_BytesValue{}), "\xff"},
		{"log.record.uid", isType(&commonpb.AnyValue_StringValue{}), "s=x;i=1"}, // ours wins over the line's
	} {
		v, ok := attrs[c.key]
		if !ok || !c.is(v) || valueText(v) != c.text {
			t.Errorf("attribute %s = %v, want %q", c.key, v, c.text)
		}
	}
	if m := attrs["order"].GetKvlistValue().GetValues(); len(m) != 2 || len(m[1].GetValue().GetArrayValue().GetValues()) != 3 || m[0].GetValue().GetIntValue() != 42 {
		t.Errorf("nested object = %v", attrs["order"])
	}
	if !bytes.Equal(r.TraceId, trace[:]) || len(r.SpanId) != 8 || r.SpanId[7] != 1 || r.Flags != 1 {
		t.Errorf("trace context %x %x %v", r.TraceId, r.SpanId, r.Flags)
	}
	r = got[1]
	if len(r.Body.GetKvlistValue().GetValues()) != 2 || !bytes.Equal(r.TraceId, trace[:]) || r.SpanId != nil {
		t.Errorf("map body %v, trace %x span %x", r.Body, r.TraceId, r.SpanId)
	}
	if r.SeverityText != "INFO" {
		t.Errorf("severity text %q, want INFO from the number when the line gave none", r.SeverityText)
	}
	if lines := recordAttr(r, "log.lines"); lines != "3" {
		t.Errorf("log.lines = %q, want 3", lines)
	}
}

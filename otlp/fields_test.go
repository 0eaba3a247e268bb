package otlp

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

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
	if r.Body().AsString() != "disk almost full" || r.SeverityText() != "warning" || int(r.Severity()) != 13 {
		t.Errorf("body %q severity %d %q", r.Body().AsString(), r.Severity(), r.SeverityText())
	}
	attrs := map[string]attribute.Value{}
	uids := 0
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		attrs[string(kv.Key)] = kv.Value
		if kv.Key == "log.record.uid" {
			uids++
		}
		return true
	})
	if uids != 1 {
		t.Errorf("log.record.uid appears %d times, want once", uids)
	}
	for _, c := range []struct {
		key  string
		typ  attribute.Type
		text string
	}{
		{"user", attribute.STRING, "ana"},
		{"free_mb", attribute.INT64, "512"},
		{"ratio", attribute.FLOAT64, "0.5"},
		{"ok", attribute.BOOL, "false"},
		{"gone", attribute.EMPTY, ""},
		{"order", attribute.MAP, ""},
		{"raw", attribute.BYTESLICE, ""},
		{"log.record.uid", attribute.STRING, "s=x;i=1"}, // ours wins over the line's
	} {
		v, ok := attrs[c.key]
		if !ok || v.Type() != c.typ || (c.text != "" && v.String() != c.text) {
			t.Errorf("attribute %s = %v (%v), want %v %q", c.key, v.String(), v.Type(), c.typ, c.text)
		}
	}
	if m := attrs["order"].AsMap(); len(m) != 2 || m[1].Value.Type() != attribute.SLICE || len(m[1].Value.AsSlice()) != 3 {
		t.Errorf("nested object = %v", attrs["order"].String())
	}
	if r.TraceID() != trace || r.SpanID()[7] != 1 || r.TraceFlags() != 1 {
		t.Errorf("trace context %v %v %v", r.TraceID(), r.SpanID(), r.TraceFlags())
	}
	r = got[1]
	if r.Body().Type() != attribute.MAP || len(r.Body().AsMap()) != 2 || r.TraceID() != trace || r.SpanID().IsValid() {
		t.Errorf("map body %v (%v), trace %v span %v", r.Body().String(), r.Body().Type(), r.TraceID(), r.SpanID())
	}
	if r.SeverityText() != "INFO" {
		t.Errorf("severity text %q, want INFO from the number when the line gave none", r.SeverityText())
	}
	lines := ""
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		if kv.Key == "log.lines" {
			lines = kv.Value.String()
		}
		return true
	})
	if lines != "3" {
		t.Errorf("log.lines = %q, want 3", lines)
	}
}

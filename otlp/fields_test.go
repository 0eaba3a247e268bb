package otlp

import (
	"context"
	"encoding/hex"
	"reflect"
	"testing"
	"time"

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
	if r.BodyValue != "disk almost full" || r.SeverityText != "warning" || r.SeverityNumber != 13 {
		t.Errorf("body %#v severity %d %q", r.BodyValue, r.SeverityNumber, r.SeverityText)
	}
	if r.AttributeCount != len(r.Attributes) {
		t.Errorf("%d attributes sent for %d keys: a key repeats (log.record.uid = %v)", r.AttributeCount, len(r.Attributes), r.Attributes["log.record.uid"])
	}
	for key, want := range map[string]any{
		"user":           "ana",
		"free_mb":        int64(512),
		"ratio":          0.5,
		"ok":             false,
		"gone":           nil,
		"raw":            []byte{0xff},
		"log.record.uid": "s=x;i=1", // ours wins over the line's
	} {
		if v, ok := r.Attributes[key]; !ok || !reflect.DeepEqual(v, want) {
			t.Errorf("attribute %s = %#v, want %#v", key, v, want)
		}
	}
	wantOrder := map[string]any{"id": int64(42), "items": []any{"a", int64(2), true}}
	if v := r.Attributes["order"]; !reflect.DeepEqual(v, wantOrder) {
		t.Errorf("nested object = %#v, want %#v", v, wantOrder)
	}
	if r.TraceID != hex.EncodeToString(trace[:]) || r.SpanID != "0000000000000001" || r.Flags != 1 {
		t.Errorf("trace context %s %s %v", r.TraceID, r.SpanID, r.Flags)
	}
	r = got[1]
	if want := map[string]any{"msg": "x", "n": int64(1)}; !reflect.DeepEqual(r.BodyValue, want) || r.TraceID != hex.EncodeToString(trace[:]) || r.SpanID != "" {
		t.Errorf("map body %#v, trace %s span %s", r.BodyValue, r.TraceID, r.SpanID)
	}
	if r.SeverityText != "INFO" {
		t.Errorf("severity text %q, want INFO from the number when the line gave none", r.SeverityText)
	}
	if lines := r.Attributes["log.lines"]; lines != int64(3) {
		t.Errorf("log.lines = %#v, want 3", lines)
	}
}

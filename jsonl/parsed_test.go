package jsonl

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/journald/logparse"
	"github.com/podexporter/podexporter/logrecord"
)

// TestDeliverParsedRecords: a parsed line's attributes keep the line's field order
// and types, an object body is written as an object, and the trace context and the
// severity text as the line wrote it are there.
func TestDeliverParsedRecords(t *testing.T) {
	var out bytes.Buffer
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	obj := logparse.Object{{Key: "z", Value: int64(1)}, {Key: "a", Value: logparse.Object{{Key: "y", Value: []any{1.5, nil, "s"}}, {Key: "b", Value: true}}}}
	recs := []logrecord.Record{
		{Time: at, Observed: at, Severity: 13, Body: "msg", Cursor: "c1", Lines: 2,
			Parsed: &logparse.Line{Format: logparse.JSON, SeverityText: "warning", Fields: obj, TraceID: [16]byte{0: 0xab, 15: 0x01}, SpanID: [8]byte{7: 0x02}, TraceFlags: 1}},
		{Time: at, Observed: at, Severity: 9, Body: `{"z":1}`, Cursor: "c2", Parsed: &logparse.Line{Format: logparse.JSON, Object: obj}},
		{Time: at, Observed: at, Severity: 9, Body: "plain", Cursor: "c3"},
	}
	if err := New(&out).Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines: %s", len(lines), out.String())
	}
	const wantObj = `{"z":1,"a":{"y":[1.5,null,"s"],"b":true}}`
	for _, c := range []struct {
		line int
		want []string
		not  []string
	}{
		{0, []string{`"attributes":` + wantObj, `"severity_text":"warning"`, `"trace_id":"ab000000000000000000000000000001"`, `"span_id":"0000000000000002"`, `"trace_flags":1`, `"lines":2`, `"body":"msg"`}, nil},
		{1, []string{`"body":` + wantObj}, []string{`"attributes"`, `"trace_id"`, `"lines"`}},
		{2, []string{`"body":"plain"`, `"severity_text":"INFO"`}, []string{`"attributes"`, `"trace_id"`}},
	} {
		l := lines[c.line]
		if !json.Valid([]byte(l)) {
			t.Fatalf("line %d is not JSON: %s", c.line, l)
		}
		for _, w := range c.want {
			if !strings.Contains(l, w) {
				t.Errorf("line %d lacks %s: %s", c.line, w, l)
			}
		}
		for _, n := range c.not {
			if strings.Contains(l, n) {
				t.Errorf("line %d has %s: %s", c.line, n, l)
			}
		}
	}
}

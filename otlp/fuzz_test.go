package otlp

import (
	"context"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/podexporter/podexporter/journald/logparse"
	"github.com/podexporter/podexporter/logrecord"
)

type discardExporter struct{}

func (discardExporter) Export(context.Context, []sdklog.Record) error { return nil }
func (discardExporter) Shutdown(context.Context) error                { return nil }
func (discardExporter) ForceFlush(context.Context) error              { return nil }

// FuzzLogRecord: whatever a journal entry holds (any local user can write entries with
// container fields of their choosing) and whatever the container's line says, every
// string the sink puts in a record or its resource is valid UTF-8, which OTLP's
// protobuf encoding requires of the whole batch; a body that is not UTF-8 goes as
// bytes, byte for byte.
func FuzzLogRecord(f *testing.F) {
	f.Add("line", "web", "tag", "unit.service", "app", "x", `{"msg":"hi","lvl":"warn"}`)
	f.Add("a\xffb", "n\xfe", "t\xff", "u\xff.service", "v\xff", "\xff", `{"k\xff":"v\xff","msg":"\xfe"}`)
	f.Add("", "", "", "", "", "", "level=error msg=\"x\xff\" k\xff=1")
	f.Fuzz(func(t *testing.T, body, name, tag, unit, label, extra, line string) {
		s := NewLogSink(discardExporter{}, Host{ServiceName: "s", ServiceInstanceID: "i", HostName: "h"}, quiet())
		defer s.Close(context.Background())
		parsed, err := logparse.Parse(logparse.Auto, line, logparse.Options{})
		recs := []logrecord.Record{
			{Time: time.Unix(1, 0), Body: body, ContainerID: "0123456789ab", ContainerIDFull: name + "-id", ContainerName: name, ContainerTag: tag,
				Stream: "stdout", QuadletUnit: unit, Cursor: "s=" + extra, Labels: map[string]string{"team": label, label: extra}, Extra: map[string]string{extra: label}},
			{Time: time.Unix(2, 0), Body: line, Unit: unit},
			// A host record: its identifier, unit and process fields are any local
			// user's to write.
			{Time: time.Unix(3, 0), Body: body, Identifier: tag, Unit: unit, BootID: extra,
				Host: &logrecord.HostEntry{PID: 1, Exe: "/x/" + label, Comm: name, Transport: extra, Facility: 3}},
		}
		if err == nil {
			recs[1].Parsed = &parsed
		}
		s.mu.Lock()
		for i := range recs {
			s.emit(context.Background(), &recs[i])
		}
		got := s.capture.take()
		s.mu.Unlock()
		if len(got) != len(recs) {
			t.Fatalf("%d records captured, want %d", len(got), len(recs))
		}
		for i, r := range got {
			checkValue(t, "body", r.Body())
			if r.Body().Type() == attribute.BYTESLICE && string(r.Body().AsByteSlice()) != recs[i].Body {
				t.Fatalf("body bytes %q, want %q", r.Body().AsByteSlice(), recs[i].Body)
			}
			if !utf8.ValidString(r.SeverityText()) {
				t.Fatalf("severity text %q", r.SeverityText())
			}
			r.WalkAttributes(func(kv attribute.KeyValue) bool {
				checkString(t, "attribute key", string(kv.Key))
				checkValue(t, "attribute "+string(kv.Key), kv.Value)
				return true
			})
			res := r.Resource()
			for it := res.Iter(); it.Next(); {
				kv := it.Attribute()
				checkString(t, "resource key", string(kv.Key))
				checkValue(t, "resource "+string(kv.Key), kv.Value)
			}
		}
	})
}

func checkString(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%s %q is not UTF-8", what, s)
	}
}

func checkValue(t *testing.T, what string, v attribute.Value) {
	t.Helper()
	switch v.Type() {
	case attribute.STRING:
		checkString(t, what, v.AsString())
	case attribute.STRINGSLICE:
		for _, e := range v.AsStringSlice() {
			checkString(t, what, e)
		}
	case attribute.SLICE:
		for _, e := range v.AsSlice() {
			checkValue(t, what, e)
		}
	case attribute.MAP:
		for _, kv := range v.AsMap() {
			checkString(t, what+" key", string(kv.Key))
			checkValue(t, what+"."+string(kv.Key), kv.Value)
		}
	}
}

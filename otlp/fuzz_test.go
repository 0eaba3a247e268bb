package otlp

import (
	"testing"
	"time"
	"unicode/utf8"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/journald/logparse"
	"github.com/podexporter/podexporter/logrecord"
)

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
		enc := newLogEncoder(Host{ServiceName: "s", ServiceInstanceID: "i", HostName: "h"})
		// Decoded as a receiver decodes it: protobuf's generated types refuse a
		// string that is not UTF-8.
		got, err := otelcoltest.DecodeLogsRequest(enc.encodeRecords(nil, recs))
		if err != nil {
			t.Fatalf("the request does not decode: %v", err)
		}
		if len(got) != len(recs) {
			t.Fatalf("%d records sent, want %d", len(got), len(recs))
		}
		for _, r := range got {
			i := int(r.Time.Unix()) - 1 // each record's own second
			checkValue(t, "body", r.BodyValue)
			if b, ok := r.BodyValue.([]byte); ok && string(b) != recs[i].Body {
				t.Fatalf("body bytes %q, want %q", b, recs[i].Body)
			}
			if s, ok := r.BodyValue.(string); ok && recs[i].Parsed == nil && s != recs[i].Body {
				t.Fatalf("body %q, want %q", s, recs[i].Body)
			}
			checkString(t, "severity text", r.SeverityText)
			checkValue(t, "attributes", r.Attributes)
			checkValue(t, "resource", r.Resource)
		}
	})
}

func checkString(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%s %q is not UTF-8", what, s)
	}
}

// checkValue checks every string in a decoded value, map keys included.
func checkValue(t *testing.T, what string, v any) {
	t.Helper()
	switch x := v.(type) {
	case string:
		checkString(t, what, x)
	case []any:
		for _, e := range x {
			checkValue(t, what, e)
		}
	case map[string]any:
		for k, e := range x {
			checkString(t, what+" key", k)
			checkValue(t, what+"."+k, e)
		}
	}
}

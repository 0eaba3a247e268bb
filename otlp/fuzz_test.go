package otlp

import (
	"testing"
	"time"
	"unicode/utf8"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"

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
		// decodeRequest is protobuf's own decoding, which refuses a string that is
		// not UTF-8.
		got, err := decodeRequest(enc.encodeRecords(nil, recs))
		if err != nil {
			t.Fatalf("the request does not decode: %v", err)
		}
		if len(got) != len(recs) {
			t.Fatalf("%d records sent, want %d", len(got), len(recs))
		}
		for _, r := range got {
			i := int(r.TimeUnixNano/1e9) - 1 // each record's own second
			checkValue(t, "body", r.Body)
			if b := r.Body.GetBytesValue(); b != nil && string(b) != recs[i].Body {
				t.Fatalf("body bytes %q, want %q", b, recs[i].Body)
			}
			if s := r.Body.GetStringValue(); r.Body.GetBytesValue() == nil && recs[i].Parsed == nil && s != recs[i].Body {
				t.Fatalf("body %q, want %q", s, recs[i].Body)
			}
			checkString(t, "severity text", r.SeverityText)
			for _, kv := range r.Attributes {
				checkString(t, "attribute key", kv.Key)
				checkValue(t, "attribute "+kv.Key, kv.Value)
			}
			for _, kv := range r.Resource.GetAttributes() {
				checkString(t, "resource key", kv.Key)
				checkValue(t, "resource "+kv.Key, kv.Value)
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

func checkValue(t *testing.T, what string, v *commonpb.AnyValue) {
	t.Helper()
	checkString(t, what, v.GetStringValue())
	for _, e := range v.GetArrayValue().GetValues() {
		checkValue(t, what, e)
	}
	for _, kv := range v.GetKvlistValue().GetValues() {
		checkString(t, what+" key", kv.Key)
		checkValue(t, what+"."+kv.Key, kv.Value)
	}
}

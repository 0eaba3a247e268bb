package jsonl

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/podexporter/podexporter/journald/logparse"
	"github.com/podexporter/podexporter/logrecord"
)

// FuzzEncode: whatever a container's line and a journal entry's fields hold, each
// record becomes exactly one line of valid JSON. An encoding error would fail the
// batch at every retry and stop the log path.
func FuzzEncode(f *testing.F) {
	f.Add(`{"msg":"hi","n":1e999,"lvl":"warn"}`, "web", "\xff")
	f.Add("level=error msg=\"x\xff\" k\xff=NaN v=Inf", "n\xfe", "t")
	f.Add("line\nwith\u2028separators\x00", "", "")
	f.Fuzz(func(t *testing.T, line, name, field string) {
		recs := make([]logrecord.Record, 0, 3)
		for _, format := range []logparse.Format{logparse.Auto, logparse.JSON, logparse.Logfmt} {
			r := logrecord.Record{Time: time.Unix(1, 0), Priority: 6, Body: line, ContainerID: "0123456789ab", ContainerName: name,
				Cursor: "s=" + field, Labels: map[string]string{name: field}, Extra: map[string]string{field: name}}
			for _, keep := range []bool{false, true} {
				if p, err := logparse.Parse(format, line, logparse.Options{KeepObject: keep}); err == nil {
					r.Parsed = &p
					recs = append(recs, r)
				}
			}
		}
		recs = append(recs, logrecord.Record{Body: line, Priority: -1})
		var out bytes.Buffer
		if err := New(&out).Deliver(t.Context(), recs); err != nil {
			t.Fatalf("deliver: %v", err)
		}
		lines := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n"))
		if len(lines) != len(recs) {
			t.Fatalf("%d lines for %d records:\n%s", len(lines), len(recs), out.Bytes())
		}
		for _, l := range lines {
			if !json.Valid(l) {
				t.Fatalf("not JSON: %s", l)
			}
		}
	})
}

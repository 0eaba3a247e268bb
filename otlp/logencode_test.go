package otlp

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/proto"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/journald/logparse"
	"github.com/podexporter/podexporter/logrecord"
)

// The encoder's requests are decoded by protobuf's generated types
// (otelcoltest.DecodeLogsRequest): every length it writes, short or widened, must
// come out as written.
func TestEncodeLengths(t *testing.T) {
	full := "0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef"
	for _, size := range []int{0, 1, 100, 127, 128, 200, 16383, 16384, 20 << 10, 2 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			r := record(1, full)
			r.Body = strings.Repeat("x", size)
			enc := newLogEncoder(Host{ServiceName: "s", HostName: "h"})
			got, err := otelcoltest.DecodeLogsRequest(enc.encodeRecords(nil, []logrecord.Record{r, record(2, full)}))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].BodyValue != r.Body || got[1].BodyValue != "line 2" {
				t.Fatalf("%d records, first body of %d bytes, want 2 records and %d", len(got), len(got[0].Body), size)
			}
			if !got[0].Time.Equal(r.Time) || !got[0].ObservedTime.Equal(r.Observed) {
				t.Fatalf("times %s %s, want %s %s", got[0].Time, got[0].ObservedTime, r.Time, r.Observed)
			}
		})
	}
}

// Records go out grouped by resource, in the order of each resource's first record,
// and in their own order within it; the encoder's scratch is left clean for the
// next batch.
func TestEncodeGroupsByResource(t *testing.T) {
	a, b := fmt.Sprintf("%064x", 10), fmt.Sprintf("%064x", 11)
	recs := []logrecord.Record{record(1, a), record(2, b), record(3, a), {Body: "unit", Unit: "x.service", Cursor: "u"}, record(4, b)}
	want := []struct {
		body      string
		container any
	}{{"line 1", a}, {"line 3", a}, {"line 2", b}, {"line 4", b}, {"unit", nil}}
	enc := newLogEncoder(Host{ServiceName: "s", HostName: "h"})
	for round := range 2 {
		got, err := otelcoltest.DecodeLogsRequest(enc.encodeRecords(nil, recs))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("round %d: %d records, want %d", round, len(got), len(want))
		}
		for i, w := range want {
			if got[i].Body != w.body || got[i].Resource["container.id"] != w.container || got[i].Scope != scope {
				t.Errorf("round %d: record %d is %q of %v (scope %q), want %q of %v", round, i, got[i].Body, got[i].Resource["container.id"], got[i].Scope, w.body, w.container)
			}
		}
		if !sameResource(got[0], got[1]) || !sameResource(got[2], got[3]) || sameResource(got[1], got[2]) {
			t.Errorf("round %d: one resource per container expected", round)
		}
	}
}

// A line with more fields than a record takes keeps podexporter's own attributes and
// its first fields, and says how many it dropped.
func TestEncodeAttributeLimit(t *testing.T) {
	var fields logparse.Object
	for i := range 300 {
		fields = append(fields, logparse.Field{Key: fmt.Sprintf("f%03d", i), Value: int64(i)})
	}
	fields = append(fields, logparse.Field{Key: "f000", Value: "again"}) // the last of a key wins
	r := record(1, fmt.Sprintf("%064x", 12))
	r.Parsed = &logparse.Line{Format: logparse.JSON, Message: "m", HasMessage: true, Fields: fields}
	got, err := otelcoltest.DecodeLogsRequest(newLogEncoder(Host{ServiceName: "s"}).encodeRecords(nil, []logrecord.Record{r}))
	if err != nil {
		t.Fatal(err)
	}
	attrs := got[0].Attributes
	if got[0].AttributeCount != maxAttributes || len(attrs) != maxAttributes || got[0].DroppedAttributes != 300+2-maxAttributes {
		t.Fatalf("%d attributes (%d keys), %d dropped; want %d and %d", got[0].AttributeCount, len(attrs), got[0].DroppedAttributes, maxAttributes, 300+2-maxAttributes)
	}
	if attrs["log.record.uid"] != r.Cursor || attrs["log.iostream"] != "stderr" || attrs["f001"] != int64(1) {
		t.Fatalf("kept attributes lack ours or the first fields: uid %v iostream %v f001 %v", attrs["log.record.uid"], attrs["log.iostream"], attrs["f001"])
	}
	if _, ok := attrs["f000"]; ok {
		t.Fatalf("f000 kept, want it dropped: its last value came after the limit")
	}
}

// A lifecycle event is a record with its event.name (the field and, for older
// receivers, the attribute), an informational severity unless it says otherwise and
// the attributes it carries.
func TestEncodeEvents(t *testing.T) {
	at := time.Unix(1700000000, 5)
	batch := []Event{
		{Time: at, Name: "container.died", Container: Container{ID: "c1", Name: "web", Service: "rootful"}, Body: "died", Severity: 13, Attributes: map[string]string{"exit_code": "1"}},
		{Time: at, Name: "systemd.unit.failed", Body: "unit \xff failed", Attributes: map[string]string{"systemd.unit": "x.service"}},
	}
	got, err := otelcoltest.DecodeLogsRequest(newLogEncoder(Host{ServiceName: "s", HostName: "h"}).encodeEvents(nil, batch, at.Add(time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d records, want 2", len(got))
	}
	for i, c := range []struct {
		name, sev, body, attr, val string
		container                  any
		num                        int
	}{
		{"container.died", "WARN", "died", "exit_code", "1", "c1", 13},
		{"systemd.unit.failed", "INFO", "unit \uFFFD failed", "systemd.unit", "x.service", nil, 9},
	} {
		r := got[i]
		if r.EventName != c.name || r.Attributes["event.name"] != c.name || r.SeverityText != c.sev || r.SeverityNumber != c.num ||
			r.BodyValue != c.body || r.Attributes[c.attr] != c.val || r.Resource["container.id"] != c.container ||
			!r.Time.Equal(at) || !r.ObservedTime.Equal(at.Add(time.Second)) {
			t.Errorf("event %d = %+v", i, r)
		}
	}
	if got[0].Resource["podman.service"] != "rootful" {
		t.Errorf("event resource lacks its service: %v", got[0].Resource)
	}
}

// A receiver's partial success is counted as rejected records, and the batch as sent.
func TestLogSinkCountsPartialSuccess(t *testing.T) {
	exp := &memExporter{partial: Partial{Rejected: 1, Message: "one too old"}}
	s := NewLogSink(exp, Host{ServiceName: "s", HostName: "h"}, quiet())
	full := fmt.Sprintf("%064x", 13)
	if err := s.Deliver(context.Background(), []logrecord.Record{record(1, full), record(2, full)}); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Rejected != 1 || st.Sent != 2 {
		t.Fatalf("stats %+v, want 1 rejected of 2 sent", st)
	}
}

// The OTLP/HTTP exporter reads a partial success from the response, and tells a
// refusal (400, permanent) by its status with the receiver's message.
func TestHTTPLogExporterResponses(t *testing.T) {
	for _, c := range []struct {
		name      string
		status    int
		body      proto.Message
		rejected  int64
		errSubstr string
	}{
		{"accepted", 200, &collogspb.ExportLogsServiceResponse{}, 0, ""},
		{"partial", 200, &collogspb.ExportLogsServiceResponse{PartialSuccess: &collogspb.ExportLogsPartialSuccess{RejectedLogRecords: 3, ErrorMessage: "bad"}}, 3, ""},
		{"refused", 400, nil, 0, "400 Bad Request"},
		{"unavailable", 503, nil, 0, "503 Service Unavailable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var gotType string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotType = r.Header.Get("Content-Type")
				w.Header().Set("Content-Type", "application/x-protobuf")
				w.WriteHeader(c.status)
				if c.body != nil {
					b, _ := proto.Marshal(c.body)
					_, _ = w.Write(b)
				}
			}))
			defer srv.Close()
			exp, err := NewLogExporter(context.Background(), Config{Endpoint: srv.URL, Protocol: ProtocolHTTP, Compression: "none", Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer exp.Shutdown(context.Background())
			p, err := exp.Export(context.Background(), newLogEncoder(Host{}).encodeRecords(nil, []logrecord.Record{record(1, fmt.Sprintf("%064x", 14))}))
			switch {
			case c.errSubstr == "" && err != nil, c.errSubstr != "" && (err == nil || !strings.Contains(err.Error(), c.errSubstr)):
				t.Fatalf("err = %v, want %q", err, c.errSubstr)
			case p.Rejected != c.rejected:
				t.Fatalf("rejected %d, want %d", p.Rejected, c.rejected)
			case gotType != "application/x-protobuf":
				t.Fatalf("content type %q", gotType)
			}
			if c.status == 400 && !permanent(err) {
				t.Fatalf("a 400 is not taken as a refusal: %v", err)
			}
		})
	}
}

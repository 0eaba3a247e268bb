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

	"github.com/podexporter/podexporter/journald/logparse"
	"github.com/podexporter/podexporter/logrecord"
)

// The encoder's requests are decoded by protobuf's generated code (decodeRequest):
// every length it writes, short or widened, must come out as written.
func TestEncodeLengths(t *testing.T) {
	full := "0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef"
	for _, size := range []int{0, 1, 100, 127, 128, 200, 16383, 16384, 20 << 10, 2 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			r := record(1, full)
			r.Body = strings.Repeat("x", size)
			enc := newLogEncoder(Host{ServiceName: "s", HostName: "h"})
			got, err := decodeRequest(enc.encodeRecords(nil, []logrecord.Record{r, record(2, full)}))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].Body.GetStringValue() != r.Body || got[1].Body.GetStringValue() != "line 2" {
				t.Fatalf("%d records, first body of %d bytes, want 2 records and %d", len(got), len(got[0].Body.GetStringValue()), size)
			}
			if got[0].TimeUnixNano != uint64(r.Time.UnixNano()) || got[0].ObservedTimeUnixNano != uint64(r.Observed.UnixNano()) {
				t.Fatalf("times %d %d", got[0].TimeUnixNano, got[0].ObservedTimeUnixNano)
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
	enc := newLogEncoder(Host{ServiceName: "s", HostName: "h"})
	for round := range 2 {
		got, err := decodeRequest(enc.encodeRecords(nil, recs))
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, r := range got {
			order = append(order, r.Body.GetStringValue()+"@"+resourceAttr(r, "container.id")[:min(2, len(resourceAttr(r, "container.id")))])
		}
		if want := "line 1@00 line 3@00 line 2@00 line 4@00 unit@"; strings.Join(order, " ") != want {
			t.Fatalf("round %d: order %v, want %s", round, order, want)
		}
		if got[0].Resource != got[1].Resource || got[1].Resource == got[2].Resource || got[3].Resource != got[2].Resource {
			t.Fatalf("round %d: records of one container on several resources", round)
		}
		if got[0].Scope.GetName() != scope {
			t.Fatalf("scope %q", got[0].Scope.GetName())
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
	got, err := decodeRequest(newLogEncoder(Host{ServiceName: "s"}).encodeRecords(nil, []logrecord.Record{r}))
	if err != nil {
		t.Fatal(err)
	}
	attrs := attrMap(got[0].Attributes)
	if len(got[0].Attributes) != maxAttributes || got[0].DroppedAttributesCount != 300+2-maxAttributes {
		t.Fatalf("%d attributes, %d dropped; want %d and %d", len(got[0].Attributes), got[0].DroppedAttributesCount, maxAttributes, 300+2-maxAttributes)
	}
	if valueText(attrs["log.record.uid"]) != r.Cursor || valueText(attrs["log.iostream"]) != "stderr" || valueText(attrs["f001"]) != "1" {
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
	got, err := decodeRequest(newLogEncoder(Host{ServiceName: "s", HostName: "h"}).encodeEvents(nil, batch, at.Add(time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d records, want 2", len(got))
	}
	for i, c := range []struct {
		name, sev, body, attr, val, container string
		num                                   int32
	}{
		{"container.died", "WARN", "died", "exit_code", "1", "c1", 13},
		{"systemd.unit.failed", "INFO", "unit \uFFFD failed", "systemd.unit", "x.service", "", 9},
	} {
		r := got[i]
		if r.EventName != c.name || recordAttr(r, "event.name") != c.name || r.SeverityText != c.sev || int32(r.SeverityNumber) != c.num ||
			r.Body.GetStringValue() != c.body || recordAttr(r, c.attr) != c.val || resourceAttr(r, "container.id") != c.container ||
			r.TimeUnixNano != uint64(at.UnixNano()) || r.ObservedTimeUnixNano != uint64(at.Add(time.Second).UnixNano()) {
			t.Errorf("event %d = %v, resource %v", i, r.LogRecord, r.Resource)
		}
	}
	if resourceAttr(got[0], "podman.service") != "rootful" {
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

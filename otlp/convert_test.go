package otlp

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"

	"github.com/podexporter/podexporter/logrecord"
)

// The conversion of records and events to OTLP, against an in-memory exporter:
// milliseconds, beside the real-Collector tests in logs_test.go and metrics_test.go.

// memExporter decodes what it is given with the protobuf package's generated types,
// independently of the sink's own encoder; fail makes the next exports fail.
type memExporter struct {
	mu      sync.Mutex
	batches [][]sentRecord
	fail    int
	// partial is what each export answers.
	partial Partial
}

// sentRecord is one record as a receiver decodes it, with its resource.
type sentRecord struct {
	Resource *resourcepb.Resource
	Scope    *commonpb.InstrumentationScope
	*logspb.LogRecord
}

func (m *memExporter) Export(_ context.Context, req []byte) (Partial, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail > 0 {
		m.fail--
		return Partial{}, errors.New("receiver unavailable")
	}
	recs, err := decodeRequest(req)
	if err != nil {
		return Partial{}, err
	}
	m.batches = append(m.batches, recs)
	return m.partial, nil
}
func (m *memExporter) Shutdown(context.Context) error { return nil }

func (m *memExporter) records() []sentRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []sentRecord
	for _, b := range m.batches {
		out = append(out, b...)
	}
	return out
}

// decodeRequest decodes an ExportLogsServiceRequest, as receivers do, into its
// records; a request protobuf refuses (a string that is not UTF-8, a bad length)
// is an error.
func decodeRequest(req []byte) ([]sentRecord, error) {
	var r collogspb.ExportLogsServiceRequest
	if err := proto.Unmarshal(req, &r); err != nil {
		return nil, err
	}
	var out []sentRecord
	for _, rl := range r.GetResourceLogs() {
		for _, sl := range rl.GetScopeLogs() {
			for _, lr := range sl.GetLogRecords() {
				out = append(out, sentRecord{rl.GetResource(), sl.GetScope(), lr})
			}
		}
	}
	return out, nil
}

// valueText is how the SDK's attribute.Value.String showed a value, for comparing.
func valueText(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonpb.AnyValue_BytesValue:
		return string(x.BytesValue)
	}
	return ""
}

func attrMap(kvs []*commonpb.KeyValue) map[string]*commonpb.AnyValue {
	m := map[string]*commonpb.AnyValue{}
	for _, kv := range kvs {
		m[kv.GetKey()] = kv.GetValue()
	}
	return m
}

func resourceAttr(r sentRecord, key string) string {
	return valueText(attrMap(r.Resource.GetAttributes())[key])
}

func recordAttr(r sentRecord, key string) string {
	return valueText(attrMap(r.GetAttributes())[key])
}

func TestLogSinkConvertsRecords(t *testing.T) {
	exp := &memExporter{}
	s := NewLogSink(exp, Host{ServiceName: "podexporter-test", HostName: "h"}, quiet())
	full := "0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef"
	recs := []logrecord.Record{
		record(1, full),
		{Time: time.Unix(1700000000, 0), Body: "from a unit", Unit: "podexporter.service", Cursor: "s=x;i=2", Severity: logrecord.SeverityFromPriority(6)},
		{Time: time.Unix(1700000000, 0), Body: "bad \xff utf-8", ContainerID: full[:12], Cursor: "s=x;i=3", Truncated: true},
	}
	if err := s.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	got := exp.records()
	if len(got) != 3 {
		t.Fatalf("%d records exported, want 3", len(got))
	}
	cases := []struct {
		name                string
		rec                 sentRecord
		resourceKey, resVal string
		attrKey, attrVal    string
		bodyIsBytes         bool
	}{
		{"container line", got[0], "container.id", full, "log.iostream", "stderr", false},
		{"unit line", got[1], "systemd.unit", "podexporter.service", "log.record.uid", "s=x;i=2", false},
		{"invalid UTF-8, cut", got[2], "container.id", full[:12], "log.truncated", "true", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if v := resourceAttr(c.rec, c.resourceKey); v != c.resVal {
				t.Errorf("resource %s = %q, want %q", c.resourceKey, v, c.resVal)
			}
			if v := recordAttr(c.rec, c.attrKey); v != c.attrVal {
				t.Errorf("attribute %s = %q, want %q", c.attrKey, v, c.attrVal)
			}
			if isBytes := c.rec.Body.GetBytesValue() != nil; isBytes != c.bodyIsBytes {
				t.Errorf("body %v, want bytes %v", c.rec.Body, c.bodyIsBytes)
			}
		})
	}
	if resourceAttr(got[0], "container.name") != "web" || resourceAttr(got[0], "container.label.app") != "shop" {
		t.Errorf("container resource lacks name or label: %v", got[0].Resource)
	}
}

// Events of the same container id from two services sit on two resources, each
// naming its own service, and the queue tells what the receiver took once it took it.
func TestEventQueueResourcePerService(t *testing.T) {
	exp := &memExporter{fail: 1}
	s := NewLogSink(exp, Host{ServiceName: "podexporter-test", HostName: "h"}, quiet())
	q := s.Events(16)
	acked := make(chan []Event, 4)
	q.OnAck(func(b []Event) { acked <- b })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx, func() {}) }()
	defer func() { cancel(); <-done }()

	at := time.Unix(1700000000, 0)
	q.Add(Event{Time: at, Name: "container.start", Container: Container{ID: "c1", Name: "web", Service: "rootful"}})
	q.Add(Event{Time: at, Name: "container.start", Container: Container{ID: "c1", Name: "web", Service: "rootless-1001"}})
	var b []Event
	select {
	case b = <-acked:
	case <-time.After(10 * time.Second):
		t.Fatal("no batch acknowledged after the receiver came back")
	}
	if len(b) != 2 {
		t.Fatalf("acknowledged %d events, want 2 in one batch", len(b))
	}
	got := exp.records()
	if len(got) != 2 {
		t.Fatalf("%d records exported, want 2", len(got))
	}
	services := map[string]bool{}
	for _, r := range got {
		services[resourceAttr(r, "podman.service")] = true
	}
	if !services["rootful"] || !services["rootless-1001"] {
		t.Fatalf("services on the resources: %v, want rootful and rootless-1001", services)
	}
	if st := s.Stats(); st.Retried != 2 || st.Sent != 2 {
		t.Fatalf("stats %+v, want 2 retried and 2 sent", st)
	}
	if n := s.Retries(); n != 0 {
		t.Fatalf("%d log batch retries counted for an event batch", n)
	}
}

// Log batches sent again are what podexporter_journal_sink_retries_total counts.
func TestLogSinkCountsBatchRetries(t *testing.T) {
	exp := &memExporter{fail: 2}
	s := NewLogSink(exp, Host{ServiceName: "podexporter-test", HostName: "h"}, quiet())
	full := "0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef"
	if err := s.Deliver(context.Background(), []logrecord.Record{record(1, full), record(2, full)}); err != nil {
		t.Fatal(err)
	}
	if n, got := s.Retries(), len(exp.records()); n != 2 || got != 2 {
		t.Fatalf("%d batch retries, %d records exported; want 2 and 2", n, got)
	}
}

package otlp

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/logrecord"
)

// The conversion of records and events to OTLP, against an in-memory exporter:
// milliseconds, beside the real-Collector tests in logs_test.go and metrics_test.go.

// memExporter decodes what it is given as a receiver does
// (otelcoltest.DecodeLogsRequest, the protobuf package's generated types), not with
// the sink's own encoder; fail makes the next exports fail.
type memExporter struct {
	mu      sync.Mutex
	batches [][]otelcoltest.LogRecord
	fail    int
	// partial is what each export answers.
	partial Partial
}

func (m *memExporter) Export(_ context.Context, req []byte) (Partial, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail > 0 {
		m.fail--
		return Partial{}, errors.New("receiver unavailable")
	}
	recs, err := otelcoltest.DecodeLogsRequest(req)
	if err != nil {
		return Partial{}, err
	}
	m.batches = append(m.batches, recs)
	return m.partial, nil
}
func (m *memExporter) Shutdown(context.Context) error { return nil }

func (m *memExporter) records() []otelcoltest.LogRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []otelcoltest.LogRecord
	for _, b := range m.batches {
		out = append(out, b...)
	}
	return out
}

// sameResource says two records came in one ResourceLogs, whose attributes the
// decoder shares between its records.
func sameResource(a, b otelcoltest.LogRecord) bool {
	return reflect.ValueOf(a.Resource).UnsafePointer() == reflect.ValueOf(b.Resource).UnsafePointer()
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
		rec                 otelcoltest.LogRecord
		resourceKey, resVal string
		attrKey             string
		attrVal             any
		bodyIsBytes         bool
	}{
		{"container line", got[0], "container.id", full, "log.iostream", "stderr", false},
		{"unit line", got[1], "systemd.unit", "podexporter.service", "log.record.uid", "s=x;i=2", false},
		{"invalid UTF-8, cut", got[2], "container.id", full[:12], "log.truncated", true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if v := c.rec.Resource[c.resourceKey]; v != c.resVal {
				t.Errorf("resource %s = %v, want %v", c.resourceKey, v, c.resVal)
			}
			if v := c.rec.Attributes[c.attrKey]; v != c.attrVal {
				t.Errorf("attribute %s = %#v, want %#v", c.attrKey, v, c.attrVal)
			}
			if _, isBytes := c.rec.BodyValue.([]byte); isBytes != c.bodyIsBytes {
				t.Errorf("body %#v, want bytes %v", c.rec.BodyValue, c.bodyIsBytes)
			}
		})
	}
	if got[0].Resource["container.name"] != "web" || got[0].Resource["container.label.app"] != "shop" {
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
	services := map[any]bool{}
	for _, r := range got {
		services[r.Resource["podman.service"]] = true
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

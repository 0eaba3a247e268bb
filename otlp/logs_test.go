package otlp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/logrecord"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestSink(t *testing.T, c *otelcoltest.Collector, protocol string) *LogSink {
	t.Helper()
	endpoint := c.Endpoint(protocol)
	exp, err := NewLogExporter(context.Background(), Config{Endpoint: endpoint, Protocol: protocol, Compression: "gzip", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := NewLogSink(exp, Host{ServiceName: "podexporter-test", ServiceInstanceID: "i-1", HostName: "h", HostID: "m"}, quiet())
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func record(i int, container string) logrecord.Record {
	return logrecord.Record{
		Time: time.Unix(1700000000, int64(i)), Observed: time.Unix(1700000001, 0), Priority: 3,
		Severity: logrecord.SeverityFromPriority(3), Body: fmt.Sprintf("line %d", i), Stream: "stderr",
		ContainerID: container[:12], ContainerIDFull: container, ContainerName: "web", Image: "localhost/web:1",
		Cursor: fmt.Sprintf("s=abc;i=%x", i), Labels: map[string]string{"app": "shop"},
	}
}

// TestLogSinkDelivers sends records over both protocols to a real Collector and reads
// back what it stored: body, severity, times, attributes and the container resource.
func TestLogSinkDelivers(t *testing.T) {
	c := otelcoltest.StartCollector(t)
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTP} {
		t.Run(protocol, func(t *testing.T) {
			s := newTestSink(t, c, protocol)
			id := fmt.Sprintf("%064x", len(protocol))
			recs := []logrecord.Record{record(1, id), record(2, id)}
			recs[1].Body = "bad \xff utf-8"
			if err := s.Deliver(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
			var got []otelcoltest.LogRecord
			for _, r := range c.Logs() {
				if r.Resource["container.id"] == id {
					got = append(got, r)
				}
			}
			if len(got) != 2 {
				t.Fatalf("collector holds %d records of the container, want 2", len(got))
			}
			r := got[0]
			checks := map[string][2]any{
				"body":             {r.Body, "line 1"},
				"severity":         {r.SeverityNumber, 17},
				"severity text":    {r.SeverityText, "ERROR"},
				"time":             {r.Time.UnixNano(), int64(1700000000*1e9 + 1)},
				"observed":         {r.ObservedTime.Unix(), int64(1700000001)},
				"iostream":         {r.Attributes["log.iostream"], "stderr"},
				"record uid":       {r.Attributes["log.record.uid"], "s=abc;i=1"},
				"container.name":   {r.Resource["container.name"], "web"},
				"image":            {r.Resource["container.image.name"], "localhost/web:1"},
				"runtime":          {r.Resource["container.runtime.name"], "podman"},
				"label":            {r.Resource["container.label.app"], "shop"},
				"service.name":     {r.Resource["service.name"], "podexporter-test"},
				"host.id":          {r.Resource["host.id"], "m"},
				"invalid UTF-8 as": {fmt.Sprintf("%T", got[1].BodyValue), "[]uint8"},
			}
			for what, v := range checks {
				if fmt.Sprint(v[0]) != fmt.Sprint(v[1]) {
					t.Errorf("%s = %v, want %v", what, v[0], v[1])
				}
			}
			if st := s.Stats(); st.Sent != 2 || st.Failed != 0 {
				t.Errorf("stats %+v, want 2 sent", st)
			}
		})
	}
}

// TestLogSinkHoldsThroughOutage: Deliver does not return while the collector is down,
// and returns once it is back with the batch delivered exactly once.
func TestLogSinkHoldsThroughOutage(t *testing.T) {
	c := otelcoltest.StartCollector(t)
	s := newTestSink(t, c, ProtocolGRPC)
	id := fmt.Sprintf("%064x", 99)
	c.Stop()
	done := make(chan error, 1)
	go func() { done <- s.Deliver(context.Background(), []logrecord.Record{record(7, id)}) }()
	select {
	case err := <-done:
		t.Fatalf("Deliver returned %v while the collector was down; it must hold the batch", err)
	case <-time.After(2 * time.Second):
	}
	if st := s.Stats(); st.Failed == 0 || st.Backoff == 0 || st.InFlight != 1 {
		t.Errorf("during the outage stats = %+v, want failures, a backoff and one batch in flight", st)
	}
	c.Start()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("Deliver did not return after the collector came back")
	}
	n := 0
	for _, r := range c.Logs() {
		if r.Resource["container.id"] == id {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("collector holds %d copies, want 1", n)
	}
}

// TestLogSinkSkipsRefusedBatch: a receiver that refuses a batch as invalid must not stall
// the pipeline forever; the batch is counted as rejected.
func TestLogSinkSkipsRefusedBatch(t *testing.T) {
	c := otelcoltest.StartCollector(t)
	s := newTestSink(t, c, ProtocolHTTP)
	c.FailExports(true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Deliver(ctx, []logrecord.Record{record(1, fmt.Sprintf("%064x", 5))}); err != nil {
		t.Fatalf("Deliver = %v, want nil after a permanent refusal", err)
	}
	if st := s.Stats(); st.Rejected != 1 {
		t.Fatalf("rejected = %d, want 1", st.Rejected)
	}
}

// TestLogSinkDeliversNonUTF8Fields: a journal entry whose container fields are not
// UTF-8 (any local user can write one) is delivered with U+FFFD in their place.
// Before, protobuf refused the whole batch at every retry and the log path stopped.
func TestLogSinkDeliversNonUTF8Fields(t *testing.T) {
	c := otelcoltest.StartCollector(t)
	s := newTestSink(t, c, ProtocolHTTP)
	id := fmt.Sprintf("%064x", 19)
	r := record(1, id)
	r.ContainerName, r.ContainerTag, r.Cursor = "n\xff", "t\xfe", "s=\xff;i=1"
	r.Labels = map[string]string{"app": "v\xff"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Deliver(ctx, []logrecord.Record{r}); err != nil {
		t.Fatalf("deliver: %v (stats %+v)", err, s.Stats())
	}
	for _, got := range c.Logs() {
		if got.Resource["container.id"] != id {
			continue
		}
		if got.Resource["container.name"] != "n\uFFFD" || got.Attributes["container.tag"] != "t\uFFFD" || got.Resource["container.label.app"] != "v\uFFFD" {
			t.Fatalf("record %+v", got)
		}
		return
	}
	t.Fatal("the collector holds no record of the container")
}

package otlp

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/logrecord"
)

// TestCompressionsDeliverIntact sends the same records with each compression over
// both protocols to a real Collector and reads every record back as it was written;
// the bytes the exporter wrote to its connections show the compression was used
// (the exporters' WithCompressor once turned zstd into none without a word).
func TestCompressionsDeliverIntact(t *testing.T) {
	c := otelcoltest.StartCollector(t)
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTP} {
		var plainBytes int64
		for _, compression := range []string{"none", "gzip", "zstd"} {
			t.Run(protocol+"/"+compression, func(t *testing.T) {
				endpoint := c.Endpoint(protocol)
				var sent atomic.Int64
				exp, err := NewLogExporter(context.Background(), Config{Endpoint: endpoint, Protocol: protocol, Compression: compression, Timeout: 5 * time.Second, dial: countingDial(&sent)})
				if err != nil {
					t.Fatal(err)
				}
				s := NewLogSink(exp, Host{ServiceName: "podexporter-test", HostName: "h"}, quiet())
				defer func() { _ = s.Close(context.Background()) }()

				id := fmt.Sprintf("%064x", len(protocol)*100+len(compression))
				recs := make([]logrecord.Record, 3000)
				for i := range recs {
					recs[i] = record(i, id)
					recs[i].Body = fmt.Sprintf("%s %s line %d: GET /api/items?id=%d 200 %dms", protocol, compression, i, i*7919, i%97)
				}
				recs[17].Body = "not utf-8 \xff\xfe"
				recs[18].Body = ""
				for i := 0; i < len(recs); i += 1000 {
					if err := s.Deliver(context.Background(), recs[i:i+1000]); err != nil {
						t.Fatal(err)
					}
				}
				got := map[string]otelcoltest.LogRecord{}
				for _, r := range c.Logs() {
					if r.Resource["container.id"] == id {
						got[fmt.Sprint(r.Attributes["log.record.uid"])] = r
					}
				}
				if len(got) != len(recs) {
					t.Fatalf("collector holds %d distinct records, want %d", len(got), len(recs))
				}
				for i, w := range recs {
					r, ok := got[w.Cursor]
					body := r.Body
					if b, isBytes := r.BodyValue.([]byte); isBytes {
						body = string(b)
					}
					if !ok || body != w.Body || !r.Time.Equal(w.Time) || r.Attributes["log.iostream"] != w.Stream {
						t.Fatalf("record %d came back as %+v, want body %q at %s", i, r, w.Body, w.Time)
					}
				}
				n := sent.Load()
				t.Logf("%d records in %d bytes on the wire", len(recs), n)
				if compression == "none" {
					plainBytes = n
				} else if plainBytes > 0 && n > plainBytes/3 {
					t.Errorf("%s sent %d bytes, uncompressed %d: not compressed", compression, n, plainBytes)
				}
			})
		}
	}
}

// TestMetricsCompressions pushes metrics with zstd over both protocols, which the
// metric exporters, like the log ones, cannot choose by themselves.
func TestMetricsCompressions(t *testing.T) {
	c := otelcoltest.StartCollector(t)
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTP} {
		t.Run(protocol, func(t *testing.T) {
			endpoint := c.Endpoint(protocol)
			exp, err := NewMetricExporter(context.Background(), Config{Endpoint: endpoint, Protocol: protocol, Compression: "zstd", Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			id := fmt.Sprintf("%012x", len(protocol))
			gather := func() ([]*dto.MetricFamily, error) { return catalogFamilies(id), nil }
			p := NewMetricPusher(exp, gather, func(id12 string) (Container, bool) { return Container{ID: id12}, id12 == id }, Host{ServiceName: "podexporter-test", HostName: "h"}, time.Hour, quiet())
			if err := p.Push(context.Background()); err != nil {
				t.Fatalf("push: %v", err)
			}
			testenv.Eventually(t, 10*time.Second, "the pushed points in the Collector", func() bool {
				for _, m := range c.Metrics() {
					if m.Resource["container.id"] == id {
						return true
					}
				}
				return false
			})
		})
	}
}

// countingDial opens TCP connections that add what they write to sent: the
// compressed requests with their HTTP or gRPC framing and headers.
func countingDial(sent *atomic.Int64) dialFunc {
	d := &net.Dialer{Timeout: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, sent: sent}, nil
	}
}

type countingConn struct {
	net.Conn
	sent *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.sent.Add(int64(n))
	return n, err
}

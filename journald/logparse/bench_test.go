package logparse

import "testing"

// Typical lines: a 6-field JSON line (msg, level, time, trace_id, span_id, user),
// the same as logfmt, a text line with a level, and a plain line without one.
const (
	benchJSON   = `{"time":"2024-05-01T12:00:00.123456Z","level":"info","msg":"request served","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","user":"alice@example.com"}`
	benchLogfmt = `time=2024-05-01T12:00:00.123456Z level=info msg="request served" trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 user=alice@example.com`
	benchText   = `2024-05-01 12:00:00.123 WARN  [main] disk almost full on /var/lib/containers: 93% used`
	benchPlain  = `10.88.0.1 - - GET /healthz HTTP/1.1 200 2 "-" "kube-probe/1.29" 0.000 upstream ok`
)

func BenchmarkParse(b *testing.B) {
	for _, bm := range []struct {
		name string
		f    Format
		line string
		opts Options
	}{
		{"json", JSON, benchJSON, Options{}},
		{"json-keepobject", JSON, benchJSON, Options{KeepObject: true}},
		{"logfmt", Logfmt, benchLogfmt, Options{}},
		{"text", Text, benchText, Options{}},
		{"auto-json", Auto, benchJSON, Options{}},
		{"auto-plain-text", Auto, benchPlain, Options{}},
		{"raw", Raw, benchJSON, Options{}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.line)))
			for b.Loop() {
				if _, err := Parse(bm.f, bm.line, bm.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

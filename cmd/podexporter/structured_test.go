package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
)

// jsonLines are what the JSON-labelled container prints: the common shapes of zap,
// slog, pino and the OpenTelemetry SDKs' log bridges, and one line that is not JSON.
var jsonLines = []string{
	`{"time":"2026-01-02T03:04:05.123456Z","level":"warn","msg":"disk almost full","user":"ana","free_mb":512,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`,
	`{"level":"error","message":"payment failed","order":{"id":42,"items":["a","b"]},"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}`,
	`{"level":30,"msg":"pino style","pid":7}`,
	`not json at all`,
}

// javaLines are what the Java-labelled container prints: a line, an error with its
// stack trace (lines 1-7, one record), and a last line.
var javaLines = []string{
	"INFO starting",
	"ERROR request failed",
	"java.lang.IllegalStateException: boom",
	"\tat com.example.Handler.handle(Handler.java:42)",
	"\tat com.example.Server.run(Server.java:7)",
	"Caused by: java.io.IOException: disk",
	"\tat com.example.Disk.write(Disk.java:3)",
	"\t... 2 more",
	"INFO done",
}

// printScript is a shell script that prints lines as they are, then sleeps.
func printScript(lines []string) string {
	return "cat <<'EOF'\n" + strings.Join(lines, "\n") + "\nEOF\nsleep 600"
}

// TestStructuredLogsFromLabels runs the daemon with --journal.log-format=auto against
// real containers whose labels say how their lines are read, and checks the records
// at a real Collector against the lines journalctl holds, decoded independently
// (encoding/json): JSON fields become body, severity, time, trace context and typed
// attributes; a stack trace becomes one record; a container labelled raw keeps its
// JSON line as it is while an unlabelled one gets auto; and the metrics count it all.
func TestStructuredLogsFromLabels(t *testing.T) {
	testenv.RequireJournald(t)
	p := testenv.RequirePodman(t)
	c := otelcoltest.StartCollector(t)
	d := startDaemon(t, nil, "--podman.socket="+p.Socket, "--otlp.endpoint="+c.Endpoint("grpc"), "--otlp.protocol=grpc",
		"--journal.start=tail", "--journal.log-format=auto")

	js, java := testenv.UniqueName("fmtjson"), testenv.UniqueName("fmtjava")
	raw, auto := testenv.UniqueName("fmtraw"), testenv.UniqueName("fmtauto")
	p.Run(t, js, []string{"--label", "io.podexporter.log.format=json"}, "sh", "-c", printScript(jsonLines))
	p.Run(t, java, []string{"--label", "io.podexporter.log.format=text", "--label", "io.podexporter.log.multiline=java"}, "sh", "-c", printScript(javaLines))
	p.Run(t, raw, []string{"--label", "io.podexporter.log.format=raw"}, "sh", "-c", printScript(jsonLines[:1]))
	autoLines := []string{`level=warn msg="auto logfmt" k=v`, jsonLines[2], "plain words"}
	p.Run(t, auto, nil, "sh", "-c", printScript(autoLines))

	logs := func(name string, n int) []otelcoltest.LogRecord {
		var recs []otelcoltest.LogRecord
		testenv.Eventually(t, 30*time.Second, fmt.Sprintf("%d records of %s at the collector", n, name), func() bool {
			recs = nil
			for _, r := range recordsOf(c, name) {
				if r.EventName == "" {
					recs = append(recs, r)
				}
			}
			return len(recs) >= n
		})
		time.Sleep(2 * time.Second) // anything more would be a duplicate or a split
		recs = nil
		for _, r := range recordsOf(c, name) {
			if r.EventName == "" {
				recs = append(recs, r)
			}
		}
		if len(recs) != n {
			t.Fatalf("%s: %d records, want %d: %+v", name, len(recs), n, recs)
		}
		// Batches go out over two exporters at once and may reach the Collector out
		// of order: put the records back in journal order, by their cursor's
		// sequence number.
		slices.SortFunc(recs, func(a, b otelcoltest.LogRecord) int { return cmp.Compare(cursorSeq(t, a), cursorSeq(t, b)) })
		return recs
	}

	t.Run("json", func(t *testing.T) {
		journal := testenv.Journal(t, "CONTAINER_NAME="+js)
		recs := logs(js, len(journal))
		failed := 0
		for i, line := range journal {
			r := recs[i]
			var want map[string]any
			dec := json.NewDecoder(strings.NewReader(line))
			dec.UseNumber()
			if dec.Decode(&want) != nil {
				failed++
				if r.Body != line || r.SeverityNumber != 9 {
					t.Errorf("unparsable line %q: body %q severity %d, want it unchanged at 9 (stdout)", line, r.Body, r.SeverityNumber)
				}
				continue
			}
			msg, _ := want["msg"].(string)
			if msg == "" {
				msg, _ = want["message"].(string)
			}
			if r.Body != msg {
				t.Errorf("line %d: body %q, want the message %q", i, r.Body, msg)
			}
			if lvl := fmt.Sprint(want["level"]); r.SeverityText != lvl {
				t.Errorf("line %d: severity text %q, want the line's %q", i, r.SeverityText, lvl)
			}
			for k, v := range want {
				switch k {
				case "msg", "message", "level", "time", "trace_id", "span_id", "traceparent":
					if _, ok := r.Attributes[k]; ok {
						t.Errorf("line %d: %s was read into the record but is still an attribute", i, k)
					}
					continue
				}
				if got, w := jsonText(t, r.Attributes[k]), jsonText(t, v); got != w {
					t.Errorf("line %d: attribute %s = %s, want %s", i, k, got, w)
				}
			}
		}
		// The severities, timestamp and trace context, per the line's own words.
		if recs[0].SeverityNumber != 13 || recs[1].SeverityNumber != 17 || recs[2].SeverityNumber != 9 {
			t.Errorf("severities %d %d %d, want 13 (warn) 17 (error) 9 (pino 30: info)", recs[0].SeverityNumber, recs[1].SeverityNumber, recs[2].SeverityNumber)
		}
		if want := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC); !recs[0].Time.Equal(want) {
			t.Errorf("time %v, want the line's %v", recs[0].Time, want)
		}
		if recs[0].TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || recs[0].SpanID != "00f067aa0ba902b7" {
			t.Errorf("trace context %s/%s, want the line's trace_id and span_id", recs[0].TraceID, recs[0].SpanID)
		}
		if recs[1].TraceID != "0af7651916cd43dd8448eb211c80319c" || recs[1].SpanID != "b7ad6b7169203331" {
			t.Errorf("trace context %s/%s, want the traceparent's", recs[1].TraceID, recs[1].SpanID)
		}
		if failed != 1 {
			t.Fatalf("%d journal lines are not JSON, want 1", failed)
		}
		testenv.Eventually(t, 10*time.Second, "the failed line counted", func() bool {
			return scrapeValue(t, d.addr, "podexporter_journal_parse_failures_total", map[string]string{"format": "json"}) == float64(failed)
		})
		if got := scrapeValue(t, d.addr, "podman_container_log_records_total", map[string]string{"name": js, "severity": "warn"}); got != 1 {
			t.Errorf("warn records of %s = %v, want 1", js, got)
		}
	})

	t.Run("java stack trace", func(t *testing.T) {
		journal := testenv.Journal(t, "CONTAINER_NAME="+java)
		if len(journal) != len(javaLines) {
			t.Fatalf("journalctl has %d lines, want %d", len(journal), len(javaLines))
		}
		recs := logs(java, 3)
		want := []struct {
			body     string
			severity int
			lines    int64
		}{
			{journal[0], 9, 0},
			{strings.Join(journal[1:8], "\n"), 17, 7},
			{journal[8], 9, 0},
		}
		for i, w := range want {
			r := recs[i]
			lines, _ := r.Attributes["log.lines"].(int64)
			if r.Body != w.body || r.SeverityNumber != w.severity || lines != w.lines {
				t.Errorf("record %d: body %q severity %d lines %d; want %q %d %d", i, r.Body, r.SeverityNumber, lines, w.body, w.severity, w.lines)
			}
		}
		if got := scrapeValue(t, d.addr, "podman_container_log_lines_total", map[string]string{"name": java, "stream": "stdout"}); got != float64(len(journal)) {
			t.Errorf("lines counted %v, want journalctl's %d", got, len(journal))
		}
		if got := scrapeValue(t, d.addr, "podman_container_log_records_total", map[string]string{"name": java, "severity": "error"}); got != 1 {
			t.Errorf("error records %v, want 1", got)
		}
	})

	t.Run("raw label over the auto flag", func(t *testing.T) {
		recs := logs(raw, 1)
		if recs[0].Body != jsonLines[0] || recs[0].SeverityNumber != 9 || recs[0].TraceID != "" || len(recs[0].Attributes) > 2 {
			t.Errorf("raw record: %+v; want the line unchanged", recs[0])
		}
	})

	t.Run("auto", func(t *testing.T) {
		recs := logs(auto, len(autoLines))
		if recs[0].Body != "auto logfmt" || recs[0].SeverityNumber != 13 || recs[0].Attributes["k"] != "v" {
			t.Errorf("logfmt line: %+v", recs[0])
		}
		if recs[1].Body != "pino style" || recs[1].Attributes["pid"] != int64(7) {
			t.Errorf("JSON line: %+v", recs[1])
		}
		if recs[2].Body != "plain words" || recs[2].SeverityNumber != 9 {
			t.Errorf("plain line: %+v", recs[2])
		}
	})
}

// cursorSeq is the sequence number (i=, hexadecimal) of a record's journal cursor.
func cursorSeq(t *testing.T, r otelcoltest.LogRecord) uint64 {
	t.Helper()
	uid, _ := r.Attributes["log.record.uid"].(string)
	for part := range strings.SplitSeq(uid, ";") {
		if v, ok := strings.CutPrefix(part, "i="); ok {
			n, err := strconv.ParseUint(v, 16, 64)
			if err == nil {
				return n
			}
		}
	}
	t.Fatalf("record without a journal cursor: %+v", r)
	return 0
}

// jsonText is v as compact JSON, numbers as they print, to compare a value decoded
// from OTLP with one decoded from the line.
func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

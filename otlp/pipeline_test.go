// This test reads a real journal: the journal reader (package journald) and
// journaltest need libsystemd through cgo, which the otlp package itself does not.

//go:build cgo

package otlp

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/journald"
	"github.com/podexporter/podexporter/journald/journaltest"
)

// TestPipelinedJournalToCollector runs the daemon's log path with its exporters
// (LogExporters, so batches in flight together) over a journal to a real Collector:
// every line arrives exactly once, and the saved cursor ends at the last line.
func TestPipelinedJournalToCollector(t *testing.T) {
	const entries = 6000
	dir := journaltest.ConmonJournal(t, entries)
	c := otelcoltest.StartCollector(t)
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTP} {
		t.Run(protocol, func(t *testing.T) {
			endpoint := c.Endpoint(protocol)
			exps, err := NewLogExporters(context.Background(), Config{Endpoint: endpoint, Protocol: protocol, Compression: "zstd", Timeout: 5 * time.Second}, LogExporters)
			if err != nil {
				t.Fatal(err)
			}
			host := Host{ServiceName: "podexporter-test", ServiceInstanceID: protocol, HostName: "h"}
			logs := NewLogSink(exps[0], host, quiet(), exps[1:]...)
			defer func() { _ = logs.Close(context.Background()) }()
			if logs.Pipeline() < 2 {
				t.Fatalf("pipeline depth %d: nothing overlaps", logs.Pipeline())
			}
			sink := &ackSink{next: logs, want: entries, done: make(chan struct{})}
			cp := journald.NewCheckpoint(filepath.Join(t.TempDir(), "cursor"))
			// Small batches: many in flight over the run.
			r, err := journald.NewReader(journald.Config{Directory: dir, Start: journald.StartHead, BatchSize: 100, Checkpoint: cp, Sink: sink, Logger: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- r.Run(ctx, nil) }()
			select {
			case <-sink.done:
			case err := <-errc:
				t.Fatalf("reader stopped: %v", err)
			case <-time.After(2 * time.Minute):
				t.Fatalf("%d of %d lines acknowledged", sink.acked.Load(), entries)
			}
			testenv.Eventually(t, 10*time.Second, "the last batch's cursor saved", func() bool { return r.Stats().CursorCommits > 0 && r.Stats().RecordsDelivered == entries })
			cancel()
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			// Batches in flight together may land in any order; the journal's
			// last line is the one with the highest sequence number.
			seen := map[string]int{}
			var last string
			var lastSeq uint64
			for _, rec := range c.Logs() {
				if rec.Resource["service.instance.id"] != protocol {
					continue
				}
				uid := fmt.Sprint(rec.Attributes["log.record.uid"])
				seen[uid]++
				if seq := cursorSeq(t, uid); seq >= lastSeq {
					last, lastSeq = uid, seq
				}
			}
			if len(seen) != entries {
				t.Fatalf("collector holds %d distinct lines, want %d", len(seen), entries)
			}
			for uid, n := range seen {
				if n != 1 {
					t.Fatalf("line %s arrived %d times", uid, n)
				}
			}
			saved, err := cp.Load()
			if err != nil {
				t.Fatal(err)
			}
			if saved != last {
				t.Fatalf("saved cursor %q, want the last line's %q", saved, last)
			}
		})
	}
}

// cursorSeq is a journal cursor's sequence number (i=, hexadecimal).
func cursorSeq(t *testing.T, cursor string) uint64 {
	t.Helper()
	for part := range strings.SplitSeq(cursor, ";") {
		if v, ok := strings.CutPrefix(part, "i="); ok {
			n, err := strconv.ParseUint(v, 16, 64)
			if err != nil {
				t.Fatalf("cursor %q: %v", cursor, err)
			}
			return n
		}
	}
	t.Fatalf("cursor %q has no sequence number", cursor)
	return 0
}

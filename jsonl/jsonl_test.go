package jsonl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/podexporter/podexporter/logrecord"
)

func TestDeliverAppendsLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	recs := []logrecord.Record{
		{Time: at, Observed: at, Priority: 3, Severity: logrecord.SeverityFromPriority(3), Body: "bad \xff utf8", Stream: "stderr",
			ContainerID: "aaaaaaaaaaaa", ContainerIDFull: "aaaaaaaaaaaa1111", ContainerName: "web", Cursor: "s=1;i=2", Pieces: 3},
		{Time: at, Observed: at, Priority: -1, Body: "<b>&</b>", Cursor: "s=1;i=3", Extra: map[string]string{"CODE_FILE": "x.c"}},
	}
	// Two deliveries through two opens: the file is appended to, never truncated.
	for range 2 {
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Deliver(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		got = append(got, m)
	}
	if len(got) != 4 {
		t.Fatalf("%d lines, want 4", len(got))
	}
	tests := []struct {
		line int
		key  string
		want any
	}{
		{0, "body", "bad \uFFFD utf8"},
		{0, "log.iostream", "stderr"},
		{0, "severity_number", 17.0},
		{0, "severity_text", "ERROR"},
		{0, "priority", 3.0},
		{0, "container.id", "aaaaaaaaaaaa1111"},
		{0, "log.record.uid", "s=1;i=2"},
		{0, "pieces", 3.0},
		{0, "time", "2026-01-02T03:04:05.000006Z"},
		{1, "body", "<b>&</b>"},
		{1, "priority", nil},
		{3, "log.record.uid", "s=1;i=3"},
	}
	for _, tc := range tests {
		if g := got[tc.line][tc.key]; g != tc.want {
			t.Errorf("line %d %s = %#v, want %#v", tc.line, tc.key, g, tc.want)
		}
	}
	if f := got[1]["fields"].(map[string]any); f["CODE_FILE"] != "x.c" {
		t.Errorf("extra fields %v", f)
	}
}

// flaky fails its first writes, as a full disk that is then cleaned up would.
type flaky struct {
	fails int
	got   []byte
}

func (f *flaky) Write(b []byte) (int, error) {
	if f.fails > 0 {
		f.fails--
		return 0, errors.New("no space left on device")
	}
	f.got = append(f.got, b...)
	return len(b), nil
}

// The sink owns retries: a failed write is tried again until it succeeds, each retry
// counted, and Deliver returns only then; when ctx ends first it says so.
func TestDeliverRetriesFailedWrites(t *testing.T) {
	w := &flaky{fails: 2}
	s := New(w)
	recs := []logrecord.Record{{Body: "line", Cursor: "s=1;i=1", Priority: -1}}
	if err := s.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if s.Retries() != 2 || !bytes.Contains(w.got, []byte(`"body":"line"`)) || bytes.Count(w.got, []byte("\n")) != 1 {
		t.Fatalf("retries %d, written %q; want 2 retries and the line once", s.Retries(), w.got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := New(&flaky{fails: 1 << 30}).Deliver(ctx, recs); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the context's once it ends", err)
	}
}

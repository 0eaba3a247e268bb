package journald

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/podexporter/podexporter/journald/journaltest"
	"github.com/podexporter/podexporter/logrecord"
)

// entry is one journal entry of a fixture, in the order its fields are written.
type entry struct {
	realtime time.Time
	boot     string
	fields   [][2]string
}

var fixtureStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	bootA = "0123456789abcdef0123456789abcdef"
	bootB = "fedcba9876543210fedcba9876543210"
)

// conmonEntry is shaped like what conmon writes for a container line.
func conmonEntry(i int, name, id, msg, prio string, extra ...[2]string) entry {
	f := [][2]string{
		{"_BOOT_ID", bootA}, {"_HOSTNAME", "fixturehost"}, {"PRIORITY", prio},
		{"_TRANSPORT", "journal"}, {"_COMM", "conmon"}, {"_EXE", "/usr/bin/conmon"},
		{"MESSAGE", msg},
		{"CONTAINER_ID_FULL", id}, {"CONTAINER_ID", id[:12]}, {"CONTAINER_NAME", name},
		{"SYSLOG_IDENTIFIER", name},
		{"_CMDLINE", journaltest.Cmdline(id)},
		{"_SOURCE_REALTIME_TIMESTAMP", fmt.Sprint(fixtureStart.Add(time.Duration(i)*time.Millisecond - 300*time.Microsecond).UnixMicro())},
	}
	f = append(f, extra...)
	return entry{realtime: fixtureStart.Add(time.Duration(i) * time.Millisecond), boot: bootA, fields: f}
}

// exportFormat renders entries in the journal export format, using the binary
// form for values that are not single-line text.
func exportFormat(entries []entry) []byte { return exportFrom(entries, 0) }

// exportFrom is exportFormat for entries that follow first others in one journal,
// whose monotonic times must go on rising.
func exportFrom(entries []entry, first int) []byte {
	var b bytes.Buffer
	for i, e := range entries {
		fmt.Fprintf(&b, "__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n", e.realtime.UnixMicro(), 1000000+first+i)
		if e.boot != "" {
			fmt.Fprintf(&b, "_BOOT_ID=%s\n", e.boot)
		}
		for _, f := range e.fields {
			if f[0] == "_BOOT_ID" {
				continue
			}
			if bytes.ContainsAny([]byte(f[1]), "\n\x00") || !isPrint(f[1]) {
				b.WriteString(f[0] + "\n")
				var n [8]byte
				binary.LittleEndian.PutUint64(n[:], uint64(len(f[1])))
				b.Write(n[:])
				b.WriteString(f[1] + "\n")
				continue
			}
			b.WriteString(f[0] + "=" + f[1] + "\n")
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

func isPrint(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// buildJournal writes entries into a journal file with systemd-journal-remote,
// the same code journald uses, and returns its path.
func buildJournal(t testing.TB, entries []entry) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fixture.journal")
	journaltest.WriteJournal(t, path, exportFormat(entries))
	return path
}

// journalctlCursors returns the cursors of a file's entries as journalctl reports
// them: the independent reference for the cursors the reader hands out.
func journalctlCursors(t testing.TB, path string) []string {
	t.Helper()
	out, err := exec.Command("journalctl", "--file="+path, "-o", "json", "--output-fields=__CURSOR", "--no-pager").Output()
	if err != nil {
		t.Fatalf("journalctl --file %s: %v", path, err)
	}
	var cursors []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		cursors = append(cursors, m["__CURSOR"].(string))
	}
	return cursors
}

// collect is a sink that keeps every record.
type collect struct {
	mu      sync.Mutex
	records []logrecord.Record
}

func (c *collect) Deliver(_ context.Context, recs []logrecord.Record) error {
	c.mu.Lock()
	c.records = append(c.records, recs...)
	c.mu.Unlock()
	return nil
}

func (c *collect) get() []logrecord.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]logrecord.Record(nil), c.records...)
}

// runReader runs a reader until want records arrived, then a little longer so
// that extra records would show, and returns what it delivered.
func runReader(t testing.TB, cfg Config, want int) ([]logrecord.Record, *Reader) {
	t.Helper()
	sink := &collect{}
	cfg.Sink = sink
	r, err := NewReader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, nil) }()
	deadline := time.Now().Add(20 * time.Second)
	for len(sink.get()) < want && time.Now().Before(deadline) {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("reader stopped: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// Long enough for a partial line to time out and for the reader to reach the
	// end: anything beyond want is then a wrong extra record.
	time.Sleep(3*cfg.PartialTimeout + 300*time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("reader: %v", err)
	}
	got := sink.get()
	if len(got) != want {
		for _, r := range got {
			t.Logf("record: %.60q from %s", r.Body, r.ContainerName)
		}
		t.Fatalf("got %d records, want %d", len(got), want)
	}
	return got, r
}

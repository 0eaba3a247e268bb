package journald

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/journald/journaltest"
)

// The kept zstd context and results must be what libsystemd decompresses with (or
// the saving is gone without a sound), and reusing them must not change a byte: every entry's
// compressed _CMDLINE and its MESSAGE are compared with what journalctl, a separate
// process with libzstd's own contexts, prints for the same files.
func TestZstdContextKeptAndExact(t *testing.T) {
	testenv.RequireTool(t, "journalctl")
	const entries = 2000
	dir := journaltest.ConmonJournal(t, entries)
	out, err := exec.Command("journalctl", "--no-pager", "-D", dir, "-o", "json", "--output-fields=_CMDLINE,MESSAGE").Output()
	if err != nil {
		t.Fatalf("journalctl -D %s: %v", dir, err)
	}
	type fields struct {
		Cmdline string `json:"_CMDLINE"`
		Message string `json:"MESSAGE"`
	}
	var want []fields
	for line := range bytes.Lines(out) {
		var f fields
		if err := json.Unmarshal(line, &f); err != nil {
			t.Fatalf("journalctl line %q: %v", line, err)
		}
		want = append(want, f)
	}
	if len(want) != entries {
		t.Fatalf("journalctl printed %d entries, want %d", len(want), entries)
	}

	j, err := openJournal(location{Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	j.setFields([]string{"_CMDLINE", "MESSAGE"})
	if err := j.seekHead(); err != nil {
		t.Fatal(err)
	}
	before, beforeResults := zstdContextsReused(), zstdResultsReused()
	var e rawEntry
	for i := 0; ; i++ {
		ok, err := j.read(true, &e)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			if i != entries {
				t.Fatalf("read %d entries, want %d", i, entries)
			}
			break
		}
		if got := (fields{string(e.fields[0]), string(e.fields[1])}); i < len(want) && got != want[i] {
			t.Fatalf("entry %d: %+v, journalctl has %+v", i, got, want[i])
		}
	}
	// Each entry's _CMDLINE is a compressed field: all but the first reuse a context.
	if got := zstdContextsReused() - before; got < entries-1 {
		t.Fatalf("zstd context handed out again %d times for %d compressed fields; libsystemd is not calling the kept-context definitions", got, entries)
	}
	// Three containers, three _CMDLINE frames: each is decompressed by libzstd twice
	// (seen, then kept), and every later entry takes the kept result. The bytes were
	// compared with journalctl's above.
	if got := zstdResultsReused() - beforeResults; got < entries*9/10 {
		t.Fatalf("kept zstd results used %d times for %d entries of three containers; libsystemd is not calling the definition of ZSTD_decompressStream, or it keeps nothing", got, entries)
	}
}

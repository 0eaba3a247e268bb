package journaltest

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// WriteJournal writes entries in journal export format into a journal file at path
// with systemd-journal-remote, the code journald writes its own files with.
func WriteJournal(t testing.TB, path string, export []byte) {
	t.Helper()
	if _, err := os.Stat(JournalRemote); err != nil {
		t.Fatalf("%s is missing; fix: apt-get install systemd-journal-remote (scripts/testhost.sh does)", JournalRemote)
	}
	cmd := exec.Command(JournalRemote, "-o", path, "-")
	cmd.Stdin = bytes.NewReader(export)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-journal-remote: %v: %s", err, out)
	}
}

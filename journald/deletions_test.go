package journald

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestOpenJournalDirs(t *testing.T) {
	fdDir := t.TempDir()
	links := map[string]string{
		"3": "/var/log/journal/m/system.journal",
		"4": "/var/log/journal/m/user-1000@x.journal (deleted)",
		"5": "/run/log/journal/m/system@y.journal~",
		"6": "/var/log/journal/m/notes.txt",
		"7": "socket:[1234]",
	}
	for fd, target := range links {
		if err := os.Symlink(target, filepath.Join(fdDir, fd)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := openJournalDirs(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"/run/log/journal/m", "/var/log/journal/m"}; !slices.Equal(got, want) {
		t.Errorf("dirs = %q, want %q", got, want)
	}
}

// TestDeletionsSeen uses a real inotify descriptor on a directory holding an
// open journal-named file, as libsystemd's handle does.
func TestDeletionsSeen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "system.journal")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := newDeletions()
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if err := d.watch(); err != nil {
		t.Fatal(err)
	}
	if !d.watched[dir] {
		t.Fatalf("watching %v, want %s among them", d.watched, dir)
	}
	if d.seen() {
		t.Fatal("deletion seen before any")
	}
	if err := os.WriteFile(filepath.Join(dir, "other.journal"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if d.seen() {
		t.Fatal("creating a file counted as a deletion")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if !d.seen() {
		t.Fatal("deletion not seen")
	}
	if d.seen() {
		t.Fatal("the same deletion seen twice")
	}
}

// TestTruncatedFileNoSIGBUS truncates a journal file under an open handle, as a
// vacuum does: reading on must return an error or the end, not kill the process.
func TestTruncatedFileNoSIGBUS(t *testing.T) {
	var es []entry
	for i := range 2000 {
		es = append(es, conmonEntry(i, "web", idWeb, strings.Repeat("x", 200)+"\n", "6"))
	}
	path := buildJournal(t, es)
	j, err := openJournal(location{Files: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	j.setFields(fixedFields[:])
	var e rawEntry
	if ok, err := j.read(true, &e); !ok || err != nil {
		t.Fatalf("first entry: %v %v", ok, err)
	}
	before := sigbusSeen()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; n < len(es); n++ {
		ok, err := j.read(true, &e)
		if err != nil || !ok {
			break
		}
	}
	if n == len(es)-1 {
		t.Fatalf("read all %d entries of a truncated file", n)
	}
	if sigbusSeen() == before {
		t.Fatal("no truncated page was touched: the test did not reach the SIGBUS path")
	}
	t.Logf("read %d more entries, then stopped; %d truncated pages read as zeros", n, sigbusSeen()-before)
}

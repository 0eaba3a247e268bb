package journald

import (
	"os"
	"path/filepath"
	"slices"
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

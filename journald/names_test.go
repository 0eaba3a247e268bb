package journald

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/journald/journaltest"
)

// writeNamesFile writes a journal file at path with one line of each container name.
func writeNamesFile(t *testing.T, path string, first int, names ...string) {
	writeNamesFileTB(t, path, first, names...)
}

func writeNamesFileTB(t testing.TB, path string, first int, names ...string) {
	t.Helper()
	var es []entry
	for i, n := range names {
		es = append(es, conmonEntry(first+i, n, idOf(n), "hello\n", "6"))
	}
	journaltest.WriteJournal(t, path, exportFrom(es, first))
}

// setArchived marks a journal file archived, as journald does when it rotates it.
func setArchived(t *testing.T, path string) { setArchivedTB(t, path) }

func setArchivedTB(t testing.TB, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{fileStateArchived}, headerStateOffset); err != nil {
		t.Fatal(err)
	}
}

// journalctlNames is what journalctl lists as the field's values in dir: the
// reference.
func journalctlNames(t *testing.T, dir string) []string {
	t.Helper()
	out, err := exec.Command("journalctl", "-D", dir, "-F", "CONTAINER_NAME").Output()
	if err != nil {
		t.Fatalf("journalctl -D %s -F CONTAINER_NAME: %v", dir, err)
	}
	names := strings.Fields(string(out))
	slices.Sort(names)
	return names
}

func sortedUnique(v []string) []string {
	v = slices.Clone(v)
	slices.Sort(v)
	return slices.Compact(v)
}

// TestNameListerArchivedOnce: the lister lists every name journalctl lists, then
// only the active files' names; an archived file is not listed again, an active
// file archived since is listed one last time, and a file libsystemd adds is
// listed once the handle reports the change.
func TestNameListerArchivedOnce(t *testing.T) {
	dir := t.TempDir()
	for i := range 6 {
		p := filepath.Join(dir, fmt.Sprintf("old-%d.journal", i))
		writeNamesFile(t, p, i*10, fmt.Sprintf("old-%d-a", i), fmt.Sprintf("old-%d-b", i))
		setArchived(t, p)
	}
	active := filepath.Join(dir, "active.journal")
	writeNamesFile(t, active, 100, "live-a", "live-b")

	j, err := openJournal(location{Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	l := newNameLister("CONTAINER_NAME", slog.New(slog.DiscardHandler))
	defer l.close()

	got, err := l.list(j)
	if err != nil {
		t.Fatal(err)
	}
	if want := journalctlNames(t, dir); !slices.Equal(sortedUnique(got), want) {
		t.Fatalf("first listing %q, journalctl lists %q", sortedUnique(got), want)
	}
	if l.fallback || l.listedOnce != 6 || len(l.active) != 1 {
		t.Fatalf("fallback %v, archived files listed %d (want 6), active files %d (want 1)", l.fallback, l.listedOnce, len(l.active))
	}

	// Steady state: the active file only, no look at the file set.
	for range 3 {
		got, err = l.list(j)
		if err != nil {
			t.Fatal(err)
		}
		if g := sortedUnique(got); !slices.Equal(g, []string{"live-a", "live-b"}) {
			t.Fatalf("steady listing %q, want the active file's names only", g)
		}
	}
	if l.scans != 1 || l.listedOnce != 6 {
		t.Fatalf("file set looked at %d times (want 1), archived files listed %d (want 6)", l.scans, l.listedOnce)
	}

	// Rotation: the active file is archived; its names come once more, then not.
	setArchived(t, active)
	got, err = l.list(j)
	if err != nil {
		t.Fatal(err)
	}
	if g := sortedUnique(got); !slices.Equal(g, []string{"live-a", "live-b"}) {
		t.Fatalf("listing after rotation %q, want the rotated file's names", g)
	}
	if got, _ = l.list(j); len(got) != 0 || len(l.active) != 0 {
		t.Fatalf("listing with no active file %q (active files %d), want nothing", got, len(l.active))
	}

	// A new file: libsystemd adds it at the next wait and says so.
	tmp := t.TempDir()
	writeNamesFile(t, filepath.Join(tmp, "new.journal"), 200, "new-a")
	// The first wait sets up libsystemd's watches.
	if _, err := j.wait(0); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(tmp, "new.journal"), filepath.Join(dir, "new.journal")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := j.wait(100 * time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if res == waitInvalidate {
			l.filesChanged()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("libsystemd did not report the new file")
		}
	}
	got, err = l.list(j)
	if err != nil {
		t.Fatal(err)
	}
	if g := sortedUnique(got); !slices.Equal(g, []string{"new-a"}) {
		t.Fatalf("listing after a new file %q, want its name only", g)
	}
	if l.listedOnce != 6 {
		t.Fatalf("archived files listed %d times in all, want 6 (each once)", l.listedOnce)
	}
}

// TestNameListerFallback: without a descriptor table to read, every listing goes
// through the reader's handle, as before.
func TestNameListerFallback(t *testing.T) {
	dir := t.TempDir()
	writeNamesFile(t, filepath.Join(dir, "a.journal"), 0, "x", "y")
	j, err := openJournal(location{Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	l := newNameLister("CONTAINER_NAME", slog.New(slog.DiscardHandler))
	l.fdDir = filepath.Join(dir, "no-such-dir")
	got, err := l.list(j)
	if err != nil {
		t.Fatal(err)
	}
	if !l.fallback || !slices.Equal(sortedUnique(got), journalctlNames(t, dir)) {
		t.Fatalf("fallback %v, names %q, want %q", l.fallback, got, journalctlNames(t, dir))
	}
}

// TestOpenFdsLeavesDescriptors: closing a handle opened by descriptor leaves the
// descriptors open, so the lister's own close is not a second one.
func TestOpenFdsLeavesDescriptors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.journal")
	writeNamesFile(t, p, 0, "x")
	fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	h, err := openFds([]heldFile{{fd: fd}})
	if err != nil {
		t.Fatal(err)
	}
	if names, err := h.unique("CONTAINER_NAME"); err != nil || !slices.Equal(names, []string{"x"}) {
		t.Fatalf("names %q, %v", names, err)
	}
	h.close()
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		t.Fatalf("the descriptor was closed with the handle: %v", err)
	}
}

// BenchmarkNameListing lists the container names of a journal of archived files
// with 200 names each and one active file with 5, through the reader's handle
// (every file, as before) and through the lister (the active file after the first
// listing), at two counts of archived files: the lister's cost must not grow with
// them.
func BenchmarkNameListing(b *testing.B) {
	for _, archived := range []int{4, 24} {
		dir := b.TempDir()
		for i := range archived {
			var names []string
			for n := range 200 {
				names = append(names, fmt.Sprintf("old-%d", (i*37+n)%400))
			}
			p := filepath.Join(dir, fmt.Sprintf("old-%02d.journal", i))
			writeNamesFileTB(b, p, i*1000, names...)
			setArchivedTB(b, p)
		}
		writeNamesFileTB(b, filepath.Join(dir, "system.journal"), 100000, "live-1", "live-2", "live-3", "live-4", "live-5")
		j, err := openJournal(location{Directory: dir})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("archived=%d/every-file", archived), func(b *testing.B) {
			for b.Loop() {
				if _, err := j.unique("CONTAINER_NAME"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("archived=%d/active-files", archived), func(b *testing.B) {
			l := newNameLister("CONTAINER_NAME", slog.New(slog.DiscardHandler))
			defer l.close()
			if _, err := l.list(j); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := l.list(j); err != nil {
					b.Fatal(err)
				}
			}
		})
		j.close()
	}
}

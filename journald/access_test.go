package journald

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/journald/journaltest"
)

// accessChildEnv tells the test binary, run again as another user, which journal to
// read and what to expect ("dir|want lines" or "local|0").
const accessChildEnv = "PODEXPORTER_TEST_ACCESS_CHILD"

// nobody is the unprivileged user the child runs as, in no supplementary group.
var nobody = &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}

// TestNoReadableJournal runs a reader as user nobody (the test binary run again) on
// a journal whose every file is root's and mode 0640, as journald leaves them for
// group systemd-journal: libsystemd opens no file and says nothing, so the reader
// must warn once, with the fix, and set podexporter_journal_unreadable. The
// reference is journalctl run as the same user, which prints nothing of the same
// directory. Made readable, the same files are read and nothing is said. The host
// journal (journald's own files) is checked the same way.
func TestNoReadableJournal(t *testing.T) {
	if spec := os.Getenv(accessChildEnv); spec != "" {
		accessChild(t, spec)
		return
	}
	testenv.RequireRoot(t)
	// Everything nobody runs or reads lives below a directory it may enter.
	base, err := os.MkdirTemp("", "podexporter-access-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	dir := filepath.Join(base, "journal")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	var es []entry
	for i := range 3 {
		es = append(es, conmonEntry(i, "web", idWeb, "x\n", "6"))
	}
	file := filepath.Join(dir, "system.journal")
	journaltest.WriteJournal(t, file, exportFormat(es))
	if err := os.Chmod(file, 0o640); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "journald.test")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}

	asNobody := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(name, args...)
		cmd.Dir = base
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: nobody}
		return cmd
	}
	entriesAsNobody := func(args ...string) int {
		out, _ := asNobody("journalctl", append([]string{"-o", "json", "--output-fields=MESSAGE", "--no-pager", "-q"}, args...)...).Output()
		return bytes.Count(out, []byte("\n"))
	}
	child := func(t *testing.T, spec string) {
		t.Helper()
		cmd := asNobody(bin, "-test.run=^TestNoReadableJournal$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), accessChildEnv+"="+spec)
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestNoReadableJournal")) {
			t.Fatalf("the reader run as nobody (%s): %v\n%s", spec, err, out)
		}
	}

	t.Run("directory, unreadable", func(t *testing.T) {
		if n := len(journalctlCursors(t, file)); n != 3 {
			t.Fatalf("journalctl as root reads %d entries, want 3", n)
		}
		if n := entriesAsNobody("-D", dir); n != 0 {
			t.Fatalf("journalctl as nobody reads %d entries: the files are not unreadable", n)
		}
		child(t, dir+"|0")
	})
	t.Run("directory, readable", func(t *testing.T) {
		if err := os.Chmod(file, 0o644); err != nil {
			t.Fatal(err)
		}
		if n := entriesAsNobody("-D", dir); n != 3 {
			t.Fatalf("journalctl as nobody reads %d entries, want 3", n)
		}
		child(t, dir+"|3")
	})
	t.Run("host journal", func(t *testing.T) {
		testenv.RequireJournald(t)
		if n := entriesAsNobody("-n", "1"); n != 0 {
			testenv.Missing(t, fmt.Sprintf("nobody can read the host journal (%d entries), so it cannot stand for a journal nobody may read", n),
				"keep journald's default: files root:systemd-journal, mode 0640")
		}
		child(t, "local|0")
	})
}

// accessChild is the reader's side of TestNoReadableJournal, run as nobody.
func accessChild(t *testing.T, spec string) {
	where, n, _ := strings.Cut(spec, "|")
	want, err := strconv.Atoi(n)
	if err != nil {
		t.Fatalf("%s=%q: %v", accessChildEnv, spec, err)
	}
	cfg := Config{Start: StartHead, PartialTimeout: 20 * time.Millisecond}
	if where != "local" {
		cfg.Directory = where
	}
	logs := captureLog(&cfg)
	_, r := runReader(t, cfg, want)
	unreadable := want == 0
	if got := r.Stats().JournalUnreadable; got != unreadable {
		t.Errorf("JournalUnreadable %v, want %v", got, unreadable)
	}
	l := logs.String()
	warned := strings.Count(l, "cannot read any journal file")
	if unreadable && (warned != 1 || !strings.Contains(l, "level=WARN") || !strings.Contains(l, "systemd-journal") || !strings.Contains(l, "GroupAdd=keep-groups")) {
		t.Errorf("want one warning with the fix, logged:\n%s", l)
	}
	if !unreadable && warned != 0 {
		t.Errorf("warned though the journal is readable:\n%s", l)
	}
}

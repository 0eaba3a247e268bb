package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/journald/journaltest"
)

// TestDoctorJournalAccess runs `doctor` as user nobody against journal directories
// whose files are root:systemd-journal, as journald leaves them, and checks that it
// reports what the kernel lets nobody open, not merely what it can list. journalctl,
// run with the same credentials, is the independent witness of what libsystemd (and
// so the daemon) reads from each directory.
func TestDoctorJournalAccess(t *testing.T) {
	testenv.RequireRoot(t)
	journalctl := testenv.RequireTool(t, "journalctl")
	nobody, err := user.Lookup("nobody")
	if err != nil {
		testenv.Missing(t, "no user nobody: "+err.Error(), "create it (useradd --system nobody)")
	}
	journalGroup, err := user.LookupGroup("systemd-journal")
	if err != nil {
		testenv.Missing(t, "no group systemd-journal: "+err.Error(), "install systemd (scripts/testhost.sh does)")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	jgid, _ := strconv.Atoi(journalGroup.Gid)

	// nobody must reach the binary and the directories: t.TempDir is root's alone.
	base, err := os.MkdirTemp("", "podexporter-doctor-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "podexporter")
	copyFile(t, binary, bin, 0o755)
	state := filepath.Join(base, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(state, uid, gid); err != nil {
		t.Fatal(err)
	}

	// Real journal files, written by journald's own code; each message says which file
	// it is in, so journalctl's output shows which files it could open.
	systemFile := writeJournalFile(t, base, "system", "line-from-system")
	userFile := writeJournalFile(t, base, "user", "line-from-user")

	// journal lays files out as journald does, in a machine-id directory, and gives each
	// the journal group and a mode.
	journal := func(name string, files map[string]os.FileMode) string {
		dir := filepath.Join(base, name)
		mid := filepath.Join(dir, "0123456789abcdef0123456789abcdef")
		if err := os.MkdirAll(mid, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for file, mode := range files {
			src := map[string]string{"system.journal": systemFile, "user-65534.journal": userFile}[file]
			dst := filepath.Join(mid, file)
			copyFile(t, src, dst, mode)
			if err := os.Chmod(dst, mode); err != nil { // WriteFile's mode passes the umask
				t.Fatal(err)
			}
			if err := os.Chown(dst, 0, jgid); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	noneReadable := journal("none", map[string]os.FileMode{"system.journal": 0o640})
	someReadable := journal("some", map[string]os.FileMode{"system.journal": 0o640, "user-65534.journal": 0o644})
	allReadable := journal("all", map[string]os.FileMode{"system.journal": 0o644, "user-65534.journal": 0o644})

	asNobody := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	asMember := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(jgid)}}
	run := func(cred *syscall.Credential, env []string, name string, args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = "/"
		cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent"}, env...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}

	tests := []struct {
		name string
		cred *syscall.Credential
		// env is added to the environment; container=podman is what Podman sets in
		// every container, so doctor gives the Quadlet unit's fix.
		env []string
		dir string
		// line is the start of doctor's line for the directory; more must follow it.
		line string
		more []string
		// lines are what journalctl shows with the same credentials.
		lines []string
	}{
		{"directory listable, no file readable", asNobody, nil, noneReadable,
			"FAIL  journal " + noneReadable + ": listable, but none of its 1 journal files can be opened by user nobody",
			[]string{"permission denied", "fix: add nobody to group systemd-journal", "SupplementaryGroups=systemd-journal"},
			nil},
		{"some files unreadable", asNobody, nil, someReadable,
			"WARN  journal " + someReadable + ": 1 of 2 journal files cannot be opened by user nobody",
			[]string{"system.journal: permission denied", "fix: add nobody to group systemd-journal"},
			[]string{"line-from-user"}},
		{"all readable", asNobody, nil, allReadable,
			"OK    journal " + allReadable + ": readable, 2 files", nil,
			[]string{"line-from-system", "line-from-user"}},
		{"member of systemd-journal", asMember, nil, noneReadable,
			"OK    journal " + noneReadable + ": readable, 1 files", nil,
			[]string{"line-from-system"}},
		{"no file readable in a Podman container", asNobody, []string{"container=podman"}, noneReadable,
			"FAIL  journal " + noneReadable + ": listable, but none of its 1 journal files can be opened by user nobody",
			[]string{"GroupAdd=keep-groups", "deploy/quadlet/rootless/podexporter.container", "GroupAdd=" + journalGroup.Gid + " ", "Volume=/var/log/journal:/var/log/journal:ro"},
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The witness first: what libsystemd opens as this user.
			out, _, _ := run(tc.cred, nil, journalctl, "--directory="+tc.dir, "--output=cat", "--no-pager")
			got := strings.Fields(out)
			slices.Sort(got) // both files' entries have the same time
			if strings.Join(got, " ") != strings.Join(tc.lines, " ") {
				t.Fatalf("journalctl as uid %d groups %v shows %q, want %q: the fixture is not what the case says", tc.cred.Uid, tc.cred.Groups, got, tc.lines)
			}

			out, errOut, code := run(tc.cred, tc.env, bin, "doctor", "--journal.directory="+tc.dir,
				"--podman.socket=unix://"+filepath.Join(base, "no-podman.sock"), "--state.directory="+state)
			if code != 0 && code != 1 {
				t.Fatalf("doctor exited %d: %s%s", code, out, errOut)
			}
			var line string
			sc := bufio.NewScanner(strings.NewReader(out))
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "FAIL  journal "+tc.dir+":") || strings.HasPrefix(sc.Text(), "WARN  journal "+tc.dir+":") || strings.HasPrefix(sc.Text(), "OK    journal "+tc.dir+":") {
					line = sc.Text()
				}
			}
			if !strings.HasPrefix(line, tc.line) {
				t.Fatalf("doctor's line for the directory:\n%s\nwant it to begin with\n%s\nwhole output:\n%s", line, tc.line, out)
			}
			for _, m := range tc.more {
				if !strings.Contains(line, m) {
					t.Errorf("doctor's line lacks %q:\n%s", m, line)
				}
			}
			failedOverall := strings.Contains(out, "\nFAIL  journal: no readable journal directory") || strings.HasPrefix(out, "FAIL  journal: ")
			if wantFail := len(tc.lines) == 0; failedOverall != wantFail {
				t.Errorf("overall journal FAIL = %v, want %v (journalctl reads %d lines):\n%s", failedOverall, wantFail, len(tc.lines), out)
			}
		})
	}
}

// writeJournalFile writes one entry with message msg into a journal file with
// systemd-journal-remote, the code journald writes its files with.
func writeJournalFile(t *testing.T, dir, name, msg string) string {
	t.Helper()
	path := filepath.Join(dir, name+".journal")
	export := fmt.Sprintf("__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=1000000\n_BOOT_ID=0123456789abcdef0123456789abcdef\nPRIORITY=6\nMESSAGE=%s\n\n",
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixMicro(), msg)
	journaltest.WriteJournal(t, path, []byte(export))
	return path
}

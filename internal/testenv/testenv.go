// Package testenv gives integration tests the real components they need: root, a
// running journald and a Podman API service with the offline test image. When one is
// missing, the test is skipped with the reason and the command that fixes it, except
// under CI=true, where a missing component fails the test: CI must never pass by
// skipping what it was meant to check. Missing and SkipShort are that rule, for the
// harnesses built on this package (internal/otelcoltest, the deploy tests' systemd host).
package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BuildTags are the tags the Podman bindings need (no C storage drivers, no gpgme);
// tests that build the podexporter binary pass them, as the Makefile does.
const BuildTags = "remote exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp"

// Image is the busybox image scripts/testhost.sh builds offline.
const Image = "localhost/busybox:test"

const fixHost = "run 'sudo scripts/testhost.sh' (or 'make testhost')"

// modulePath identifies the repository root when walking up from a test's directory.
const modulePath = "github.com/podexporter/podexporter"

// InCI reports whether the test runs under CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips, or fails under CI, naming what is missing and how to get it.
func Missing(t testing.TB, what, fix string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s (CI=true: a missing component is a failure); fix: %s", what, fix)
	}
	t.Skipf("%s; fix: %s", what, fix)
}

// SkipShort skips a test that needs a real component when go test runs with -short
// (make unit): -short is the fast run of what needs no journald, Podman service,
// Collector, daemon build or booted host, under CI too.
func SkipShort(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: this test needs %s", what)
	}
}

// RequireRoot needs uid 0, for tests that start containers or load eBPF.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "this test needs root", "run it as root (CI runs as root)")
	}
}

// journalLock is shared by every test that reads the host journal over time and taken
// exclusively by tests that rotate or vacuum it: packages' tests run in parallel
// processes, and a vacuum in one would delete what another is still reading.
const journalLock = "/run/podexporter-test-journal.lock"

func lockJournal(t testing.TB, how int) {
	t.Helper()
	f, err := os.OpenFile(journalLock, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("journal test lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		t.Fatalf("journal test lock: %v", err)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}

// RequireJournald needs a running journald that accepts and returns entries, and keeps
// tests that vacuum the journal out until this test ends.
func RequireJournald(t testing.TB) {
	t.Helper()
	requireJournald(t)
	lockJournal(t, syscall.LOCK_SH)
}

// RequireJournaldExclusive is RequireJournald for tests that rotate or vacuum the
// journal: it waits until no other test reads it.
func RequireJournaldExclusive(t testing.TB) {
	t.Helper()
	requireJournald(t)
	lockJournal(t, syscall.LOCK_EX)
}

func requireJournald(t testing.TB) {
	t.Helper()
	SkipShort(t, "the running journald")
	if _, err := os.Stat("/run/systemd/journal/socket"); err != nil {
		Missing(t, "journald is not running (no /run/systemd/journal/socket)", fixHost)
		return
	}
	if out, err := exec.Command("journalctl", "-n", "0", "--no-pager").CombinedOutput(); err != nil {
		Missing(t, "journalctl cannot read the journal: "+strings.TrimSpace(string(out)), fixHost)
	}
}

// UniqueName returns a container name no other test or run uses.
func UniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "podexporter-test-" + prefix + "-" + hex.EncodeToString(b)
}

// Journal returns the MESSAGE of every journal entry matching the journalctl matches
// (FIELD=value), read by journalctl itself as the independent reference. conmon ends
// each MESSAGE with the line's newline; it is removed, as the reader removes it.
func Journal(t testing.TB, matches ...string) []string {
	t.Helper()
	args := append([]string{"--no-pager", "-o", "json", "--output-fields=MESSAGE"}, matches...)
	out, err := exec.Command("journalctl", args...).Output()
	if err != nil {
		t.Fatalf("journalctl %v: %v", args, err)
	}
	var msgs []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var e struct {
			Message json.RawMessage `json:"MESSAGE"`
		}
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("journalctl %v: %v", args, err)
		}
		var m string
		if err := json.Unmarshal(e.Message, &m); err != nil {
			// journalctl writes non-UTF-8 messages as arrays of bytes.
			var b []byte
			var ints []int
			if json.Unmarshal(e.Message, &ints) == nil {
				for _, i := range ints {
					b = append(b, byte(i))
				}
			}
			m = string(b)
		}
		msgs = append(msgs, strings.TrimSuffix(m, "\n"))
	}
	return msgs
}

// Eventually polls cond every 50 ms until it returns true or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// FreeAddr asks the kernel for a free port on 127.0.0.1. The port is released before
// the caller's process binds it; the short window is the usual price of not being able
// to hand a listener to another process.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return FreeAddrs(t, 1)[0]
}

// FreeAddrs returns n distinct free loopback addresses. Their listeners stay open
// until all are chosen: the kernel may hand a port just closed out again, and two
// FreeAddr calls in a row once gave the Collector's gRPC and HTTP receivers the same
// port.
func FreeAddrs(t testing.TB, n int) []string {
	t.Helper()
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free loopback port: %v", err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

// NotifySocket listens on a real unixgram socket, as systemd (and conmon for
// Notify=true) do, and returns its path for NOTIFY_SOCKET and the messages sent to it.
// The socket closes when the test ends, which closes the channel.
func NotifySocket(t testing.TB) (path string, messages <-chan string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatalf("notify socket: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	msgs := make(chan string, 100)
	go func() {
		defer close(msgs)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	return path, msgs
}

// RequireTool finds a program the test host installs (scripts/testhost.sh); without
// it the test is skipped with the fix, or fails under CI.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed", fixHost)
	}
	return p
}

// RepoRoot walks up from the working directory (the package under test) to the
// directory whose go.mod declares podexporter's module.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			for line := range strings.SplitSeq(string(b), "\n") {
				if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == modulePath {
					return dir, nil
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod for module %s above the working directory", modulePath)
		}
		dir = parent
	}
}

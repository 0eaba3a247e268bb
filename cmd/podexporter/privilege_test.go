package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// TestUnprivilegedRootless runs the daemon the least-privileged way it is useful:
// as an ordinary user whose only extra right is the systemd-journal group, watching
// that user's rootless Podman service. It must serve the user's containers, ship
// their logs, hold no capability, and never let a container's environment or an
// unlisted label out.
func TestUnprivilegedRootless(t *testing.T) {
	testenv.RequireJournald(t)
	rl := testenv.RequireRootlessPodman(t)

	// The user needs to reach the binary and own its state directory.
	dir, err := os.MkdirTemp("", "podexporter-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "podexporter")
	copyFile(t, binary, bin, 0o755)
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(state, int(rl.UID), int(rl.GID)); err != nil {
		t.Fatal(err)
	}
	logs := filepath.Join(state, "logs.jsonl")

	name := testenv.UniqueName("unprivileged")
	addr := testenv.FreeAddr(t)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--web.listen-address="+addr, "--state.directory="+state,
		"--podman.socket="+rl.Socket, "--journal.sink=jsonl", "--journal.output="+logs,
		"--journal.start=tail", "--journal.include-container=^"+name+"$")
	cmd.Dir = "/"
	cmd.Env = rl.Env() // nothing of root's environment
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{
		Uid: rl.UID, Gid: rl.GID, Groups: []uint32{rl.JournalGID},
	}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done
		if t.Failed() {
			t.Logf("podexporter stderr:\n%s", stderr.String())
		}
	})
	testenv.WaitReady(t, addr, 30*time.Second)

	// What the process holds, from the kernel.
	status := procStatus(t, cmd.Process.Pid)
	if f := strings.Fields(status["Uid"]); len(f) != 4 || f[0] != fmt.Sprint(rl.UID) || f[1] != fmt.Sprint(rl.UID) {
		t.Fatalf("Uid: %q, want %d everywhere", status["Uid"], rl.UID)
	}
	for _, c := range []string{"CapInh", "CapPrm", "CapEff", "CapAmb"} {
		if status[c] != "0000000000000000" {
			t.Errorf("%s: %s, want no capability", c, status[c])
		}
	}
	if !strings.Contains(" "+status["Groups"]+" ", fmt.Sprintf(" %d ", rl.JournalGID)) {
		t.Errorf("Groups: %q, want systemd-journal (%d)", status["Groups"], rl.JournalGID)
	}

	secret := make([]byte, 8)
	_, _ = rand.Read(secret)
	token := "hunter2-" + hex.EncodeToString(secret)
	rl.Run(t, name, []string{"-e", "PODEXPORTER_TEST_SECRET=" + token, "--label", "unlisted=" + token},
		"sh", "-c", "for i in 1 2 3 4 5; do echo unprivileged line $i; done; sleep 600")

	service := fmt.Sprintf("rootless-%d", rl.UID)
	var metrics []byte
	testenv.Eventually(t, 20*time.Second, "the rootless container in /metrics", func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		metrics, _ = io.ReadAll(resp.Body)
		return bytes.Contains(metrics, []byte(`podman_service="`+service+`"`)) && bytes.Contains(metrics, []byte(`name="`+name+`"`))
	})
	want := testenv.Journal(t, "CONTAINER_NAME="+name)
	if len(want) != 5 {
		t.Fatalf("journalctl holds %d lines of the container, want 5: %q", len(want), want)
	}
	var shipped []byte
	testenv.Eventually(t, 20*time.Second, "the container's lines shipped", func() bool {
		shipped, _ = os.ReadFile(logs)
		for _, l := range want {
			if !bytes.Contains(shipped, []byte(`"`+l+`"`)) {
				return false
			}
		}
		return true
	})
	for what, b := range map[string][]byte{"/metrics": metrics, "the shipped logs": shipped, "the daemon's log": stderr.Bytes()} {
		if bytes.Contains(b, []byte(token)) {
			t.Errorf("%s carries the container's environment variable or unlisted label value", what)
		}
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

// procStatus reads /proc/<pid>/status into its fields.
func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

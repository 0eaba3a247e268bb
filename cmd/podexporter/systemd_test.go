package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// TestNoSystemd runs the daemon where there is no systemd manager to talk to, as on
// the make test host: the service layer says so in podexporter_systemd_up and one
// log line, keeps trying, and nothing else changes. Whether this host has systemd is
// checked independently, by its sockets.
func TestNoSystemd(t *testing.T) {
	testenv.SkipShort(t, "the daemon and a Podman service")
	for _, p := range []string{"/run/systemd/private", "/run/dbus/system_bus_socket"} {
		if _, err := os.Stat(p); err == nil {
			t.Skipf("%s exists: this host has systemd or a system bus (make systemd-e2e tests the service layer there)", p)
		}
	}
	p := testenv.RequirePodman(t)
	d := startDaemon(t, nil, "--podman.socket="+p.Socket, "--systemd.runtime-dir="+t.TempDir())

	var body string
	testenv.Eventually(t, 30*time.Second, "three failed connects to the system manager", func() bool {
		_, b := get(t, "http://"+d.addr+"/metrics")
		body = string(b)
		v, ok := sample(body, `podexporter_systemd_errors_total{reason="connect",systemd_manager="system"}`)
		return ok && v >= 3
	})
	for series, want := range map[string]float64{
		`podexporter_systemd_up{systemd_manager="system"}`:            0,
		`podexporter_scrape_collector_success{collector="systemd"}`:   1,
		`podexporter_scrape_collector_success{collector="container"}`: 1,
		`podexporter_podman_up{podman_service="rootful"}`:             1,
	} {
		if v, ok := sample(body, series); !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
	if strings.Contains(body, "podman_quadlet_") {
		t.Error("Quadlet unit series without a manager")
	}
	if n := strings.Count(d.stderr.String(), "cannot watch the systemd manager"); n != 1 {
		t.Errorf("logged %d times that the manager cannot be watched, want once:\n%s", n, d.stderr)
	}
}

// sample is the value of one series in a text exposition.
func sample(body, series string) (float64, bool) {
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// TestDoctorSystemdRefused gives `doctor`, run as nobody, a user manager whose
// sockets only root may open, as a real user's are to everyone else: the kernel
// refuses the connect, and doctor says whose units go unwatched and the fix.
func TestDoctorSystemdRefused(t *testing.T) {
	testenv.RequireRoot(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		testenv.Missing(t, "no user nobody: "+err.Error(), "create it (useradd --system nobody)")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	base, err := os.MkdirTemp("", "podexporter-systemd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "podexporter")
	copyFile(t, binary, bin, 0o755)
	runtime := filepath.Join(base, "run-user")
	// systemd makes these: the private socket 0600 in a 0755 directory, the bus 0666
	// in the user's 0700 runtime directory.
	for _, s := range []struct {
		path string
		mode os.FileMode
	}{{"4242/systemd/private", 0o600}, {"4242/bus", 0o600}} {
		path := filepath.Join(runtime, s.path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		if err := os.Chmod(path, s.mode); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "doctor", "--systemd.runtime-dir="+runtime, "--state.directory="+base, "--podman.socket=unix://"+filepath.Join(base, "no-podman.sock"))
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run() // doctor fails here for want of Podman; the systemd line is the point
	var line string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, "systemd user-4242") {
			line = l
		}
	}
	if !strings.HasPrefix(line, "WARN  systemd user-4242: user 4242's manager refused") || !strings.Contains(line, "permission denied") ||
		!strings.Contains(line, "fix: run podexporter as root") {
		t.Fatalf("doctor's line for the user manager:\n%q\nwhole output:\n%s", line, out.String())
	}
}

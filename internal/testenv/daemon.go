package testenv

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BuildDaemon builds podexporter with the tags the Podman bindings need, as the
// Makefile does, into dir, and returns the binary's path.
func BuildDaemon(tb testing.TB, dir string) string {
	tb.Helper()
	SkipShort(tb, "the podexporter binary built and run")
	bin, err := BuildDaemonErr(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// BuildDaemonErr is BuildDaemon for a TestMain, which has no testing.TB.
func BuildDaemonErr(dir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "podexporter")
	cmd := exec.Command("go", "build", "-tags", BuildTags, "-o", bin, "./cmd/podexporter")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build podexporter: %w\n%s", err, out)
	}
	return bin, nil
}

// Ready says whether the podexporter at addr answers /readyz with 200: every source
// it was asked for has started.
func Ready(addr string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// WaitReady waits up to timeout for the podexporter at addr to be ready.
func WaitReady(tb testing.TB, addr string, timeout time.Duration) {
	tb.Helper()
	Eventually(tb, timeout, "podexporter on "+addr+" to be ready (/readyz 200)", func() bool { return Ready(addr) })
}

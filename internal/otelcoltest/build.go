package otelcoltest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildSkip string // non-empty when the failure is a missing tool or download, not a bug
)

// Binary returns the collector binary, building it at most once per test process
// and reusing a binary built by an earlier run from identical sources (a cache in
// the temporary directory keyed by the hash of tools/otelcol and the toolchain). When
// the Go toolchain or a module download is unavailable, the test is skipped with the
// fix, or fails under CI=true. It is for running the collector elsewhere (in a
// container, as a service) with Config; StartCollector calls it itself.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { builtBin, buildSkip, buildErr = buildCollector() })
	if buildSkip != "" {
		testenv.Missing(t, buildSkip, "make sure 'go' is on PATH and the Go module proxy is reachable, then run 'go -C "+collectorDir+" mod download'")
	}
	if buildErr != nil {
		t.Fatalf("build the OpenTelemetry Collector: %v", buildErr)
	}
	return builtBin
}

// buildCollector returns the binary path, or a reason to skip, or an error.
func buildCollector() (bin, skip string, err error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", "", err
	}
	src := filepath.Join(root, collectorDir)
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", "the Go toolchain is not on PATH, so the OpenTelemetry Collector cannot be built", nil
	}
	key, err := sourceKey(goBin, src)
	if err != nil {
		return "", "", err
	}
	cacheDir := filepath.Join(os.TempDir(), "podexporter-otelcol-"+key)
	bin = filepath.Join(cacheDir, "otelcol")
	if _, err := os.Stat(bin); err == nil {
		return bin, "", nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", "", fmt.Errorf("create build cache: %w", err)
	}
	// go test runs packages in parallel; the lock makes the others wait for the one
	// build instead of each spending minutes on the same work.
	lock, err := os.OpenFile(filepath.Join(cacheDir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return "", "", fmt.Errorf("open build lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", "", fmt.Errorf("take build lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin, "", nil
	}

	env := append(os.Environ(),
		// A go.work elsewhere or the caller's cross-compilation settings must not
		// change what runs on this machine.
		"GOWORK=off", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0",
	)
	if out, err := runGo(goBin, env, "-C", src, "mod", "download"); err != nil {
		return "", fmt.Sprintf("cannot download the OpenTelemetry Collector's modules: %v: %s", err, lastLines(out, 10)), nil
	}
	tmp := bin + ".tmp"
	if out, err := runGo(goBin, env, "build", "-C", src, "-buildvcs=false", "-trimpath", "-o", tmp, "."); err != nil {
		return "", "", fmt.Errorf("go build in %s: %w: %s", collectorDir, err, lastLines(out, 30))
	}
	// Rename last, so that a binary at the final path is always complete.
	if err := os.Rename(tmp, bin); err != nil {
		return "", "", fmt.Errorf("install collector binary: %w", err)
	}
	return bin, "", nil
}

func runGo(goBin string, env []string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Env = env
	return cmd.CombinedOutput()
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sourceKey hashes what decides the binary: the toolchain and the tools module's
// go.mod, go.sum and non-test Go files.
func sourceKey(goBin, src string) (string, error) {
	h := sha256.New()
	out, err := exec.Command(goBin, "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	fmt.Fprintf(h, "%s %s/%s\n", bytes.TrimSpace(out), runtime.GOOS, runtime.GOARCH)
	var files []string
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		if name == "go.mod" || name == "go.sum" || strings.HasSuffix(name, ".go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("list %s: %w", collectorDir, err)
	}
	slices.Sort(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("hash collector sources: %w", err)
		}
		rel, _ := filepath.Rel(src, f)
		fmt.Fprintf(h, "%s %d\n", rel, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

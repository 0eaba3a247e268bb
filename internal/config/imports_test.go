package config

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/podexporter/podexporter/internal/testenv"
)

const module = "github.com/podexporter/podexporter"

// TestImportsNoSourceOrSink keeps the arrow pointing down: configuration assembly
// builds the components' settings but never imports a component. A component package
// may hold a small settings subpackage (journald/journalconf, otlp/otlpconf,
// podman/podmanconf, bpf/bpfconf) that this package uses, and the journal's pure
// line-reading rules (journald/logparse, journald/multiline); anything else below a source
// or sink is refused. It also keeps the
// package free of cgo, which journald and otlp need for libsystemd.
func TestImportsNoSourceOrSink(t *testing.T) {
	gobin := testenv.RequireTool(t, "go")
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	components := []string{"journald", "otlp", "podman", "bpf", "collectors"}
	settings := map[string]bool{
		module + "/journald/journalconf": true, module + "/otlp/otlpconf": true,
		module + "/podman/podmanconf": true, module + "/bpf/bpfconf": true,
		// Pure line-reading rules (no I/O, no cgo) that journal settings are
		// validated against.
		module + "/journald/logparse": true, module + "/journald/multiline": true,
	}
	for line := range strings.Lines(string(out)) {
		path, cgoFiles, _ := strings.Cut(strings.TrimSpace(line), " ")
		rel, ours := strings.CutPrefix(path, module+"/")
		if !ours {
			continue
		}
		if cgoFiles != "0" {
			t.Errorf("internal/config depends on %s, which uses cgo", path)
		}
		for _, c := range components {
			if (rel == c || strings.HasPrefix(rel, c+"/")) && !settings[path] {
				t.Errorf("internal/config depends on %s: a source or sink; give it a settings package instead", path)
			}
		}
	}
	if testing.Short() {
		return // the cgo file count above covers the module's own packages
	}
	build := exec.Command(gobin, "build", ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Errorf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
}

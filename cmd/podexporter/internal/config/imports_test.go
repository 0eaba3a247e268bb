package config

import (
	"maps"
	"os"
	"os/exec"
	"slices"
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
// package free of cgo, which journald needs for libsystemd.
func TestImportsNoSourceOrSink(t *testing.T) {
	gobin := testenv.RequireTool(t, "go")
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	components := []string{"journald", "otlp", "podman", "bpf", "systemd", "collectors"}
	settings := map[string]bool{
		module + "/journald/journalconf": true, module + "/otlp/otlpconf": true,
		module + "/podman/podmanconf": true, module + "/bpf/bpfconf": true,
		module + "/systemd/systemdconf": true,
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
			t.Errorf("the configuration depends on %s, which uses cgo", path)
		}
		for _, c := range components {
			if (rel == c || strings.HasPrefix(rel, c+"/")) && !settings[path] {
				t.Errorf("the configuration depends on %s: a source or sink; give it a settings package instead", path)
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

// TestImportsSinksNoCgo keeps the log sinks and the data model they share free of
// cgo: otlp and jsonl take records through logrecord, never through the journal
// reader (journald), which needs libsystemd; the reader's counters and the journal's
// disk usage are in journald/journalstat for the same reason. A sink's test that runs
// the reader itself says so with a cgo build constraint, so that the sinks' tests
// still build with CGO_ENABLED=0.
func TestImportsSinksNoCgo(t *testing.T) {
	gobin := testenv.RequireTool(t, "go")
	pkgs := []string{module + "/otlp/...", module + "/jsonl/...", module + "/logrecord", module + "/journald/journalstat"}
	// list returns each package below pkgs (their tests' too with -test) and whether
	// it is a non-standard package with cgo files. CgoFiles is empty without cgo,
	// so the cgo files are counted with CGO_ENABLED=1 (listing needs no compiler).
	list := func(cgo string, flags ...string) map[string]bool {
		t.Helper()
		args := append(append([]string{"list", "-deps"}, flags...), "-f", "{{.ImportPath}}\t{{.Standard}}\t{{len .CgoFiles}}")
		cmd := exec.Command(gobin, append(args, pkgs...)...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("CGO_ENABLED=%s go list %v: %v", cgo, flags, err)
		}
		deps := map[string]bool{}
		for line := range strings.Lines(string(out)) {
			f := strings.Split(strings.TrimSpace(line), "\t")
			path, _, _ := strings.Cut(f[0], " ") // "p [q.test]": p as q's test builds it
			deps[path] = deps[path] || (f[1] == "false" && f[2] != "0")
		}
		return deps
	}
	deps := list("1")
	for _, path := range slices.Sorted(maps.Keys(deps)) {
		if deps[path] {
			t.Errorf("the log sinks or their data model depend on %s, which uses cgo; use logrecord or journalstat, not journald", path)
		}
	}
	// The tests: what the cgo-constrained tests use may not be needed by any other.
	cgoPkgs := list("1", "-test")
	for _, path := range slices.Sorted(maps.Keys(list("0", "-test"))) {
		if cgoPkgs[path] {
			t.Errorf("with CGO_ENABLED=0 the log sinks' tests depend on %s, which uses cgo; give the test file that needs it a //go:build cgo constraint", path)
		}
	}
	if testing.Short() {
		return
	}
	build := exec.Command(gobin, append([]string{"build"}, pkgs...)...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Errorf("CGO_ENABLED=0 go build of the log sinks: %v\n%s", err, out)
	}
}

// TestImportsPointDown keeps the layers: the ground utilities under internal/ import
// nothing of ours outside internal/ (the assembly lives with the binary, under
// cmd/podexporter/internal), and no source (podman, journald, bpf) imports a sink
// (otlp, jsonl, collectors, internal/web) or the binary. Test files count: a harness
// that imports a source belongs beside the binary, not under internal/.
func TestImportsPointDown(t *testing.T) {
	gobin := testenv.RequireTool(t, "go")
	out, err := exec.Command(gobin, "list", "-tags", testenv.BuildTags+" faults", "-f",
		"{{.ImportPath}}|{{join .Imports \" \"}} {{join .TestImports \" \"}} {{join .XTestImports \" \"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	under := func(rel string, roots ...string) bool {
		return slices.ContainsFunc(roots, func(r string) bool { return rel == r || strings.HasPrefix(rel, r+"/") })
	}
	sinks := []string{"otlp", "jsonl", "collectors", "internal/web", "cmd"}
	checked := 0
	for line := range strings.Lines(string(out)) {
		pkg, imports, _ := strings.Cut(strings.TrimSpace(line), "|")
		rel, _ := strings.CutPrefix(pkg, module+"/")
		for _, imp := range strings.Fields(imports) {
			dep, ours := strings.CutPrefix(imp, module+"/")
			if !ours {
				continue
			}
			checked++
			switch {
			case under(rel, "internal") && !under(dep, "internal"):
				t.Errorf("%s imports %s: internal/ holds ground utilities, which import only internal/ (move the package beside its users, e.g. under cmd/podexporter/internal)", rel, dep)
			case under(rel, "podman", "journald", "bpf", "systemd") && under(dep, sinks...):
				t.Errorf("%s imports %s: a source never imports a sink or the binary", rel, dep)
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d imports of ours seen: the listing is not what this test expects", checked)
	}
}

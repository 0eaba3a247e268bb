package catalog

import (
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/metrics.md from the catalog (make docs)")

const docsPath = "../../docs/metrics.md"

func TestDocsUpToDate(t *testing.T) {
	want := Markdown()
	if *update {
		if err := os.WriteFile(docsPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatalf("read %s: %v (run 'make docs')", docsPath, err)
	}
	if string(got) != want {
		t.Fatalf("%s is stale: run 'make docs' and commit the result", docsPath)
	}
}

// The naming rules Prometheus and OpenTelemetry document, checked on every declaration
// so a new metric cannot break them unnoticed.
func TestNamingConventions(t *testing.T) {
	promName := regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	otelName := regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)
	for _, m := range All() {
		t.Run(m.Name, func(t *testing.T) {
			if !promName.MatchString(m.Name) {
				t.Errorf("Prometheus name %q has characters outside [a-z0-9_]", m.Name)
			}
			if !strings.HasPrefix(m.Name, "podman_") && !strings.HasPrefix(m.Name, "podexporter_") {
				t.Errorf("name %q lacks the podman_ or podexporter_ prefix", m.Name)
			}
			isTotal := strings.HasSuffix(m.Name, "_total")
			if (m.Kind == Counter) != isTotal && !m.Compat {
				t.Errorf("kind %s but _total suffix is %v", m.Kind, isTotal)
			}
			if m.Kind == Info && !strings.HasSuffix(m.Name, "_info") {
				t.Errorf("info metric %q must end in _info", m.Name)
			}
			switch {
			case m.Compat:
				// Names kept from prometheus-podman-exporter.
			case m.Unit == "s":
				if !strings.Contains(m.Name, "_seconds") {
					t.Errorf("unit s but no _seconds in %q", m.Name)
				}
			case m.Unit == "By":
				if !strings.Contains(m.Name, "_bytes") {
					t.Errorf("unit By but no _bytes in %q", m.Name)
				}
			case m.Unit == "":
				t.Errorf("no unit declared")
			}
			for _, l := range m.Labels {
				if l == "type" || strings.HasPrefix(l, "__") || !promName.MatchString(l) {
					t.Errorf("label %q is not allowed", l)
				}
			}
			if m.OTelName != "" && !otelName.MatchString(m.OTelName) {
				t.Errorf("OpenTelemetry name %q is not dotted lower case", m.OTelName)
			}
			if m.Help == "" || !strings.HasSuffix(m.Help, ".") {
				t.Errorf("help %q must be a sentence", m.Help)
			}
			if m.Group == "" {
				t.Errorf("no group")
			}
		})
	}
}

func TestLookup(t *testing.T) {
	if m, ok := Lookup("podexporter_build_info"); !ok || m != BuildInfo {
		t.Fatalf("Lookup(podexporter_build_info) = %v, %v", m, ok)
	}
	if _, ok := Lookup("nope"); ok {
		t.Fatal("Lookup(nope) found something")
	}
}

// TestIDSubjectsDeclared keeps IDOf honest: a family with an "id" label says what it
// identifies, else a container's series would be pushed on the host's resource.
func TestIDSubjectsDeclared(t *testing.T) {
	for _, m := range All() {
		hasID := slices.Contains(m.Labels, "id")
		if hasID != (m.IDOf != "") {
			t.Errorf("%s: id label %v but IDOf %q", m.Name, hasID, m.IDOf)
		}
		if m.IDOf != "" && m.IDOf.OTelIDAttribute() == "id" {
			t.Errorf("%s: IDOf %q has no OpenTelemetry attribute", m.Name, m.IDOf)
		}
	}
}

package podmanconf

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/internal/setting"
)

func TestLabelName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"app", "app"},
		{"io.containers.autoupdate", "io_containers_autoupdate"},
		{"com.example/team-name", "com_example_team_name"},
		{"name", "label_name"}, // would shadow the fixed label
		{"9lives", "label_9lives"},
		{"__meta", "label_meta"},
		{"", "label_"},
		{"ünï", "_n_"}, // one _ per character, as before
	}
	for _, tc := range tests {
		if got := LabelName(tc.in); got != tc.want {
			t.Errorf("LabelName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLabelNames(t *testing.T) {
	tests := []struct {
		keys      []string
		wantNames []string
		collide   string // both keys named in the error, when refused
	}{
		{keys: []string{"app", "team"}, wantNames: []string{"app", "team"}},
		{keys: []string{"app", "app"}, wantNames: []string{"app"}}, // given twice: once
		{keys: []string{"a.b", "a_b"}, collide: `"a.b" and "a_b"`},
		{keys: []string{"a.b", "x", "a-b"}, collide: `"a.b" and "a-b"`},
		// Issue 19's crash: name takes the prefix and meets label_name.
		{keys: []string{"label_name", "name"}, collide: `"label_name" and "name"`},
		{keys: []string{"name", "image"}, wantNames: []string{"label_name", "label_image"}},
	}
	for _, tc := range tests {
		_, names, err := LabelNames(tc.keys)
		if tc.collide != "" {
			var se *setting.Error
			if !errors.As(err, &se) || se.Setting != "--podman.container-label" || !strings.Contains(se.Problem, tc.collide) {
				t.Errorf("LabelNames(%q) = %v, want a --podman.container-label error naming %s", tc.keys, err, tc.collide)
			}
			continue
		}
		if err != nil || !slices.Equal(names, tc.wantNames) {
			t.Errorf("LabelNames(%q) = %q, %v; want %q", tc.keys, names, err, tc.wantNames)
		}
	}
}

// Pods and images have fixed labels of their own, which a label of theirs must not
// shadow either.
func TestLabelNameFor(t *testing.T) {
	tests := []struct {
		key   string
		fixed []string
		want  string
	}{
		{"name", catalog.PodInfo.Labels, "label_name"},
		{"infra_id", catalog.PodInfo.Labels, "label_infra_id"},
		{"image", catalog.PodInfo.Labels, "image"}, // fixed only on containers
		{"tag", catalog.ImageInfo.Labels, "label_tag"},
		{"io.buildah.version", catalog.ImageInfo.Labels, "io_buildah_version"},
		{"tag", catalog.ContainerInfoLabels, "tag"},
	}
	for _, tc := range tests {
		if got := LabelNameFor(tc.key, tc.fixed); got != tc.want {
			t.Errorf("LabelNameFor(%q, %v) = %q, want %q", tc.key, tc.fixed, got, tc.want)
		}
	}
}

// An allowlist gives every object the same names (empty where the object lacks the
// label); with * each object's own labels, sorted, and of two keys that would share a
// name the first.
func TestAllowlistLabels(t *testing.T) {
	exported := map[string]string{"team": "shop", "com.example/tier": "web", "com.example.tier": "other", "name": "x"}
	fixed, err := NewAllowlist("--podman.container-label", []string{"team", "absent", "team"}, catalog.ContainerInfoLabels)
	if err != nil {
		t.Fatal(err)
	}
	names, values, skipped := fixed.Labels(exported)
	if !slices.Equal(names, []string{"team", "absent"}) || !slices.Equal(values, []string{"shop", ""}) || skipped != 0 || fixed.All || fixed.Empty() {
		t.Errorf("fixed allowlist: %q = %q (%d skipped), %+v", names, values, skipped, fixed)
	}
	if !slices.Equal(fixed.ExportKeys(), []string{"team", "absent"}) {
		t.Errorf("ExportKeys = %q", fixed.ExportKeys())
	}
	all, err := NewAllowlist("--podman.container-label", []string{"team", AllLabels}, catalog.ContainerInfoLabels)
	if err != nil {
		t.Fatal(err)
	}
	names, values, skipped = all.Labels(exported)
	if !slices.Equal(names, []string{"com_example_tier", "label_name", "team"}) || !slices.Equal(values, []string{"other", "x", "shop"}) || skipped != 1 {
		t.Errorf("every label: %q = %q (%d skipped)", names, values, skipped)
	}
	if !slices.Equal(all.ExportKeys(), []string{AllLabels}) {
		t.Errorf("ExportKeys = %q, want only %s", all.ExportKeys(), AllLabels)
	}
	if names, values, _ := all.Labels(nil); len(names) != 0 || len(values) != 0 {
		t.Errorf("no labels: %q = %q", names, values)
	}
	if empty, _ := NewAllowlist("--podman.pod-label", nil, catalog.PodInfo.Labels); !empty.Empty() {
		t.Error("an empty allowlist is not Empty")
	}
	var se *setting.Error
	if _, err := NewAllowlist("--podman.image-label", []string{""}, catalog.ImageInfo.Labels); !errors.As(err, &se) || se.Setting != "--podman.image-label" {
		t.Errorf("empty key: %v", err)
	}
}

func TestCutValue(t *testing.T) {
	a127 := strings.Repeat("A", 127)
	tests := []struct {
		name, in string
		max      int
		want     string
		cut      bool
	}{
		{"short", "web", 128, "web", false},
		{"exact", strings.Repeat("A", 128), 128, strings.Repeat("A", 128), false},
		// Issue 19: é (2 bytes) across byte 128 was cut in half and panicked the scrape.
		{"two-byte across the cut", a127 + "é", 128, a127, true},
		{"four-byte across the cut", "ab😀", 3, "ab", true},
		{"four-byte ends at the cut", "ab😀c", 6, "ab😀", true},
		{"first character too long", "😀", 2, "", true},
		{"invalid UTF-8 replaced", "a\xffb", 128, "a\uFFFDb", false},
	}
	for _, tc := range tests {
		got, cut := CutValue(tc.in, tc.max)
		if got != tc.want || cut != tc.cut {
			t.Errorf("%s: CutValue(%q, %d) = %q, %v; want %q, %v", tc.name, tc.in, tc.max, got, cut, tc.want, tc.cut)
		}
	}
}

var validLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// FuzzLabelName: any container label key becomes a valid label name that does not
// shadow a fixed one and does not start with the reserved __.
func FuzzLabelName(f *testing.F) {
	for _, s := range []string{"app", "io.podman/x", "name", "__x", "9", "", "ünïcode", "a b", "label_name"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		got := LabelName(key)
		if !validLabelName.MatchString(got) || slices.Contains(catalog.ContainerInfoLabels, got) || strings.HasPrefix(got, "__") {
			t.Fatalf("LabelName(%q) = %q", key, got)
		}
	})
}

// FuzzCutValue: whatever a container's label holds, the exported value is valid UTF-8,
// at most max bytes, and a prefix of the (valid) value, with cut saying so.
func FuzzCutValue(f *testing.F) {
	f.Add(strings.Repeat("A", 127)+"é", 128) // issue 19's crash
	f.Add("ab😀", 3)
	f.Add("\xff\xfe", 1)
	f.Add("", 1)
	f.Fuzz(func(t *testing.T, v string, max int) {
		if max < 1 || max > 1<<20 {
			return
		}
		got, cut := CutValue(v, max)
		valid := strings.ToValidUTF8(v, "\uFFFD")
		if !utf8.ValidString(got) || len(got) > max || !strings.HasPrefix(valid, got) || cut != (got != valid) {
			t.Fatalf("CutValue(%q, %d) = %q, %v", v, max, got, cut)
		}
		if cut && len(valid) > len(got) && len(got)+utf8.RuneLen([]rune(valid[len(got):])[0]) <= max {
			t.Fatalf("CutValue(%q, %d) = %q: cut more than one character short of max", v, max, got)
		}
	})
}

// FuzzAllowlistAll: whatever label keys an object has, taking every label gives valid
// label names, each once, none a fixed label's, and a value for each.
func FuzzAllowlistAll(f *testing.F) {
	f.Add("app", "com.example/team", "name")
	f.Add("a.b", "a_b", "__x")
	f.Add("", "9", "ü")
	f.Fuzz(func(t *testing.T, k1, k2, k3 string) {
		a, err := NewAllowlist("--podman.container-label", []string{AllLabels}, catalog.ContainerInfoLabels)
		if err != nil {
			t.Fatal(err)
		}
		exported := map[string]string{k1: "1", k2: "2", k3: "3"}
		names, values, skipped := a.Labels(exported)
		if len(names) != len(values) || len(names)+skipped != len(exported) {
			t.Fatalf("%q: names %q, values %q, %d skipped", exported, names, values, skipped)
		}
		seen := map[string]bool{}
		for _, n := range names {
			if !validLabelName.MatchString(n) || slices.Contains(catalog.ContainerInfoLabels, n) || strings.HasPrefix(n, "__") || seen[n] {
				t.Fatalf("%q: name %q in %q", exported, n, names)
			}
			seen[n] = true
		}
	})
}

package collectors

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/podman"
	"github.com/podexporter/podexporter/podman/podmanconf"
)

// labelledSnapshot is two containers, a pod and an image with labels, as the source
// keeps them for the allowlists of exported (cut values and all).
func labelledSnapshot() *podman.Snapshot {
	s := syntheticSnapshot(2)
	s.Containers[0].ExportedLabels = map[string]string{"app": "shop", "com.example/team": "web", "name": "shadow"}
	s.Containers[1].ExportedLabels = map[string]string{"tier": "db"}
	s.Containers[1].LabelsCut = []string{"tier"}
	s.Containers[1].Image = "localhost/db:2"
	s.Pods[0].ExportedLabels = map[string]string{"app": "shop", "name": "shadow"}
	s.Pods[0].LabelsCut = []string{"app"}
	s.Images[0].ExportedLabels = map[string]string{"io.buildah.version": "1.28.2"}
	return s
}

func labelledSet(t *testing.T, snap *podman.Snapshot, d Deps) *Set {
	t.Helper()
	src := &swappable{}
	src.p.Store(snap)
	d.Enabled = map[string]bool{"container": true, "pod": true, "image": true, "hardening": true}
	d.Logger, d.Podman = slog.New(slog.NewTextHandler(io.Discard, nil)), src
	set, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// byID returns the samples of family keyed by their id label.
func byID(t *testing.T, set *Set, family string) map[string]sample {
	t.Helper()
	out := map[string]sample{}
	for _, s := range familySamples(t, newGatherer(t, set), family) {
		out[s.labels["id"]] = s
	}
	return out
}

// --podman.name-label and --podman.image-name-label (prometheus-podman-exporter's
// --collector.enhance-metrics) put name and image on every container series, in the
// cached snapshot part and in the per-scrape one alike; without them neither is there.
func TestNameAndImageOnEverySeries(t *testing.T) {
	snap := labelledSnapshot()
	on := labelledSet(t, snap, Deps{NameLabel: true, ImageNameLabel: true})
	for _, family := range []string{"podman_container_state", "podman_container_cpu_seconds_total", "podman_container_uptime_seconds", "podman_container_hardening_passed"} {
		got := familySamples(t, newGatherer(t, on), family)
		if len(got) == 0 {
			t.Fatalf("%s: no series", family)
		}
		for _, s := range got {
			k := snap.Containers[0]
			if s.labels["id"] == podman.ShortID(snap.Containers[1].ID) {
				k = snap.Containers[1]
			}
			if s.labels["name"] != k.Name || s.labels["image"] != k.Image {
				t.Errorf("%s %v: want name %q and image %q", family, s.labels, k.Name, k.Image)
			}
		}
	}
	off := labelledSet(t, snap, Deps{NameLabel: true})
	for _, s := range familySamples(t, newGatherer(t, off), "podman_container_state") {
		if _, ok := s.labels["image"]; ok || s.labels["name"] == "" {
			t.Errorf("name label only: %v", s.labels)
		}
	}
}

// A fixed allowlist gives podman_container_info, _pod_info and _image_info the same
// extra labels on every series; * gives each object's series its own labels and only
// those, as prometheus-podman-exporter's --collector.store_labels does. The text
// encoding and the registry (the OTLP push gathers from it) both take a family whose
// series carry different labels, and the values cut are counted for pods too.
func TestInfoLabelAllowlists(t *testing.T) {
	snap := labelledSnapshot()
	c0, c1 := podman.ShortID(snap.Containers[0].ID), podman.ShortID(snap.Containers[1].ID)
	extra := func(s sample, fixed []string) map[string]string {
		out := map[string]string{}
		for k, v := range s.labels {
			if !slices.Contains(fixed, k) {
				out[k] = v
			}
		}
		return out
	}

	fixed := labelledSet(t, snap, Deps{ContainerLabels: []string{"app", "tier"}, PodLabels: []string{"app"}, ImageLabels: []string{"maintainer"}})
	info := byID(t, fixed, "podman_container_info")
	if got := extra(info[c0], catalog.ContainerInfoLabels); !maps.Equal(got, map[string]string{"app": "shop", "tier": ""}) {
		t.Errorf("fixed allowlist, container 0: %v", got)
	}
	if got := extra(info[c1], catalog.ContainerInfoLabels); !maps.Equal(got, map[string]string{"app": "", "tier": "db"}) {
		t.Errorf("fixed allowlist, container 1: %v", got)
	}
	if got := extra(byID(t, fixed, "podman_pod_info")[snap.Pods[0].ID], catalog.PodInfo.Labels); !maps.Equal(got, map[string]string{"app": "shop"}) {
		t.Errorf("fixed allowlist, pod: %v", got)
	}
	if got := extra(byID(t, fixed, "podman_image_info")[snap.Images[0].ID], catalog.ImageInfo.Labels); !maps.Equal(got, map[string]string{"maintainer": ""}) {
		t.Errorf("fixed allowlist, image: %v", got)
	}

	all := labelledSet(t, snap, Deps{ContainerLabels: []string{podmanconf.AllLabels}, PodLabels: []string{podmanconf.AllLabels}, ImageLabels: []string{podmanconf.AllLabels}})
	info = byID(t, all, "podman_container_info")
	if got := extra(info[c0], catalog.ContainerInfoLabels); !maps.Equal(got, map[string]string{"app": "shop", "com_example_team": "web", "label_name": "shadow"}) {
		t.Errorf("every label, container 0: %v", got)
	}
	if got := extra(info[c1], catalog.ContainerInfoLabels); !maps.Equal(got, map[string]string{"tier": "db"}) {
		t.Errorf("every label, container 1: %v", got)
	}
	if got := extra(byID(t, all, "podman_pod_info")[snap.Pods[0].ID], catalog.PodInfo.Labels); !maps.Equal(got, map[string]string{"app": "shop", "label_name": "shadow"}) {
		t.Errorf("every label, pod: %v", got)
	}
	if got := extra(byID(t, all, "podman_image_info")[snap.Images[1].ID], catalog.ImageInfo.Labels); len(got) != 0 {
		t.Errorf("every label, an image without labels: %v", got)
	}
	if got := extra(byID(t, all, "podman_image_info")[snap.Images[0].ID], catalog.ImageInfo.Labels); !maps.Equal(got, map[string]string{"io_buildah_version": "1.28.2"}) {
		t.Errorf("every label, image: %v", got)
	}
	text, err := all.Encoded(expfmt.NewFormat(expfmt.TypeTextPlain), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`app="shop"`, `tier="db"`, `io_buildah_version="1.28.2"`, "# TYPE podman_container_info gauge"} {
		if !bytes.Contains(text, []byte(want)) {
			t.Errorf("the encoded scrape lacks %s", want)
		}
	}
	if n := bytes.Count(text, []byte("# TYPE podman_container_info ")); n != 1 {
		t.Errorf("podman_container_info has %d headers, want one family", n)
	}
	if problems, err := testutil.GatherAndLint(newGatherer(t, all), "podman_container_info"); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	// Container 1's tier and the pod's app were cut: two values, counted once each.
	if got := familySamples(t, newGatherer(t, all), catalog.PodmanLabelValuesCut.Name); len(got) != 1 || got[0].value != 2 {
		t.Errorf("%s = %v, want 2", catalog.PodmanLabelValuesCut.Name, got)
	}
}

// With * the descriptors for the label sets met are kept, but not without bound: a
// host whose containers bring ever new label keys must not grow the heap for good.
func TestInfoDescriptorsBounded(t *testing.T) {
	allow, err := podmanconf.NewAllowlist("--podman.container-label", []string{podmanconf.AllLabels}, catalog.ContainerInfoLabels)
	if err != nil {
		t.Fatal(err)
	}
	f := newInfoFamily(catalog.PodInfo, allow)
	for i := range 3 * maxInfoDescs {
		f.desc([]string{fmt.Sprintf("key_%d", i)})
		if len(f.byNames) > maxInfoDescs {
			t.Fatalf("%d descriptors kept after %d label sets, want at most %d", len(f.byNames), i+1, maxInfoDescs)
		}
	}
	if d1, d2 := f.desc([]string{"a", "b"}), f.desc([]string{"a", "b"}); d1 != d2 || !strings.Contains(d1.String(), "podman_pod_info") {
		t.Error("the same label set got two descriptors")
	}
}

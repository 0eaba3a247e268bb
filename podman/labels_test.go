package podman

import (
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/containers/podman/v5/pkg/domain/entities/types"

	"github.com/podexporter/podexporter/podman/podmanconf"
)

// labelledAPI is the fake service with pods and images that carry labels.
type labelledAPI struct {
	*fakeAPI
	pods   []*types.ListPodsReport
	images []*types.ImageSummary
}

func (a labelledAPI) ListPods() ([]*types.ListPodsReport, error) { return a.pods, nil }
func (a labelledAPI) ListImages() ([]*types.ImageSummary, error) { return a.images, nil }

// exportLabels takes the allowlisted keys, or with podmanconf.AllLabels every label,
// each value cut as every output shows it.
func TestExportLabels(t *testing.T) {
	labels := map[string]string{"team": "shop", "tier": strings.Repeat("é", 3), "other": "x"}
	got, cut := exportLabels(labels, []string{"team", "absent"}, 4)
	if !maps.Equal(got, map[string]string{"team": "shop"}) || len(cut) != 0 {
		t.Errorf("allowlist: %q, cut %q", got, cut)
	}
	got, cut = exportLabels(labels, []string{podmanconf.AllLabels}, 4)
	if !maps.Equal(got, map[string]string{"team": "shop", "tier": "éé", "other": "x"}) || !slices.Equal(cut, []string{"tier"}) {
		t.Errorf("every label: %q, cut %q", got, cut)
	}
	if got, _ := exportLabels(nil, []string{podmanconf.AllLabels}, 4); len(got) != 0 {
		t.Errorf("no labels: %q", got)
	}
}

// Pods and images carry their allowlisted labels in the snapshot, each tag of an
// image the same.
func TestPodAndImageLabels(t *testing.T) {
	api := labelledAPI{fakeAPI: newFakeAPI(),
		pods: []*types.ListPodsReport{{Id: strings.Repeat("b", 64), Name: "shop", Labels: map[string]string{"app": "shop", "team": "web"}}},
		images: []*types.ImageSummary{{ID: strings.Repeat("c", 64), RepoTags: []string{"localhost/a:1", "localhost/a:2"},
			Labels: map[string]string{"io.buildah.version": "1.28.2", "maintainer": "ops"}}},
	}
	e := New(Options{Dial: api.dial, PodLabelKeys: []string{"app"}, ImageLabelKeys: []string{podmanconf.AllLabels}, Logger: slog.New(slog.DiscardHandler)})
	if err := e.listPods(api); err != nil {
		t.Fatal(err)
	}
	if err := e.refreshInventory(api); err != nil {
		t.Fatal(err)
	}
	if len(e.pods) != 1 || !maps.Equal(e.pods[0].ExportedLabels, map[string]string{"app": "shop"}) {
		t.Errorf("pods: %+v", e.pods)
	}
	if len(e.images) != 2 {
		t.Fatalf("images: %+v", e.images)
	}
	for _, im := range e.images {
		if !maps.Equal(im.ExportedLabels, map[string]string{"io.buildah.version": "1.28.2", "maintainer": "ops"}) {
			t.Errorf("image %s:%s labels %q", im.Repository, im.Tag, im.ExportedLabels)
		}
	}
}

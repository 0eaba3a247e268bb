package collectors

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/podexporter/podexporter/podman"
)

// What the storage collector shows of two services: one whose every figure is
// known, one in podexporter's container (graphroot available and the runroot not
// visible) that has not been measured yet. An unknown figure is absent, not 0.
func TestStorageCollector(t *testing.T) {
	measured := time.Unix(1796634888, 0)
	full := &podman.Snapshot{Service: "rootful", Storage: podman.Storage{
		GraphRoot:       podman.FileSystem{Path: "/var/lib/containers/storage", Size: 1000, Used: 300, Available: 640},
		RunRoot:         podman.FileSystem{Path: "/run/containers/storage", Size: 100, Used: 10, Available: 90},
		Measured:        measured,
		MeasureDuration: 1500 * time.Millisecond,
		Images:          podman.ImageUsage{Size: 5000, Reclaimable: 4000},
		Volumes:         []podman.VolumeUsage{{Name: "data", Size: 12345, Measured: measured}},
	}}
	blind := &podman.Snapshot{Service: "rootless-1001", Storage: podman.Storage{
		GraphRoot: podman.FileSystem{Path: "/home/u/.local/share/containers/storage", Size: 1000, Used: 300, Available: -1},
		RunRoot:   podman.FileSystem{Path: "/run/user/1001/containers", Size: -1, Used: -1, Available: -1},
	}}
	unread := &podman.Snapshot{Service: "rootless-1002"} // info not read yet
	set, err := New(Deps{Enabled: map[string]bool{"storage": true}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Podman: staticSnapshots{full, blind, unread}})
	if err != nil {
		t.Fatal(err)
	}
	g := newGatherer(t, set)
	want := map[string]map[string]float64{
		"podman_storage_graphroot_size_bytes":            {"rootful": 1000, "rootless-1001": 1000},
		"podman_storage_graphroot_used_bytes":            {"rootful": 300, "rootless-1001": 300},
		"podman_storage_graphroot_available_bytes":       {"rootful": 640},
		"podman_storage_runroot_size_bytes":              {"rootful": 100},
		"podman_storage_runroot_used_bytes":              {"rootful": 10},
		"podman_storage_runroot_available_bytes":         {"rootful": 90},
		"podman_images_size_bytes":                       {"rootful": 5000},
		"podman_images_reclaimable_bytes":                {"rootful": 4000},
		"podexporter_podman_size_round_duration_seconds": {"rootful": 1.5},
		"podman_volume_size_bytes":                       {"rootful/data": 12345},
		"podman_volume_size_measured_timestamp_seconds":  {"rootful/data": 1796634888},
	}
	for family, byService := range want {
		got := map[string]float64{}
		for _, s := range familySamples(t, g, family) {
			key := s.labels["podman_service"]
			if n, ok := s.labels["name"]; ok {
				key += "/" + n
			}
			got[key] = s.value
		}
		if len(got) != len(byService) {
			t.Errorf("%s: %v, want %v", family, got, byService)
			continue
		}
		for k, v := range byService {
			if got[k] != v {
				t.Errorf("%s{%s} = %v, want %v", family, k, got[k], v)
			}
		}
	}
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

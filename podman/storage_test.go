package podman

import (
	"syscall"
	"testing"

	"github.com/containers/podman/v5/libpod/define"
	"github.com/containers/podman/v5/pkg/domain/entities/types"
)

// fakeStatfs answers statfs for the paths it knows, in 4 KiB blocks, and ENOENT for
// the rest, as for a path not mounted into podexporter's container.
func fakeStatfs(fs map[string][3]uint64) statfsFunc {
	return func(path string, st *syscall.Statfs_t) error {
		b, ok := fs[path]
		if !ok {
			return syscall.ENOENT
		}
		*st = syscall.Statfs_t{Bsize: 4096, Blocks: b[0], Bfree: b[1], Bavail: b[2]}
		return nil
	}
}

// The graphroot's size and used bytes are Podman's, whatever podexporter sees;
// available is added only from a statfs that finds the same file system, and the
// runroot only where podexporter sees it.
func TestFileSystems(t *testing.T) {
	store := &define.StoreInfo{GraphRoot: "/var/lib/containers/storage", RunRoot: "/run/containers/storage",
		GraphRootAllocated: 1000 * 4096, GraphRootUsed: 300 * 4096}
	for _, tc := range []struct {
		name       string
		fs         map[string][3]uint64
		graph, run FileSystem
	}{
		{"both visible", map[string][3]uint64{store.GraphRoot: {1000, 690, 640}, store.RunRoot: {100, 90, 90}},
			FileSystem{store.GraphRoot, 1000 * 4096, 300 * 4096, 640 * 4096}, FileSystem{store.RunRoot, 100 * 4096, 10 * 4096, 90 * 4096}},
		{"in a container: nothing visible", nil,
			FileSystem{store.GraphRoot, 1000 * 4096, 300 * 4096, -1}, FileSystem{store.RunRoot, -1, -1, -1}},
		{"another file system at the graphroot's path", map[string][3]uint64{store.GraphRoot: {50, 40, 40}},
			FileSystem{store.GraphRoot, 1000 * 4096, 300 * 4096, -1}, FileSystem{store.RunRoot, -1, -1, -1}},
		{"a broken answer", map[string][3]uint64{store.GraphRoot: {1000, 2000, 640}, store.RunRoot: {100, 90, 200}},
			FileSystem{store.GraphRoot, 1000 * 4096, 300 * 4096, -1}, FileSystem{store.RunRoot, -1, -1, -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			graph, run := fileSystems(store, fakeStatfs(tc.fs))
			if graph != tc.graph || run != tc.run {
				t.Errorf("got graph %+v run %+v, want %+v %+v", graph, run, tc.graph, tc.run)
			}
		})
	}
	if g, r := fileSystems(nil, fakeStatfs(nil)); g.Size != -1 || r.Size != -1 {
		t.Errorf("no store: got %+v %+v, want unknown", g, r)
	}
	// A service that could not statfs its graphroot reports 0 allocated: unknown, not
	// an empty disk.
	if g, _ := fileSystems(&define.StoreInfo{GraphRoot: "/x"}, fakeStatfs(nil)); g.Size != -1 || g.Used != -1 {
		t.Errorf("nothing allocated: got %+v, want unknown", g)
	}
}

// Images' figures follow podman system df of each version: the total with shared
// layers once where the service reports it (4.4 and later), else the sum of image
// sizes; an image listed once per tag counts once.
func TestImageUsage(t *testing.T) {
	img := func(id string, size, unique int64, containers int) *types.SystemDfImageReport {
		return &types.SystemDfImageReport{ImageID: id, Size: size, SharedSize: size - unique, UniqueSize: unique, Containers: containers}
	}
	for _, tc := range []struct {
		name string
		df   types.SystemDfReport
		want ImageUsage
	}{
		{"4.3: sum of sizes, unused reclaimable, tags once", types.SystemDfReport{Images: []*types.SystemDfImageReport{
			img("a", 100, 100, 2), img("b", 30, 30, 0), img("b", 30, 30, 0), img("c", 7, 7, 0), nil}},
			ImageUsage{Size: 137, Reclaimable: 37}},
		// Three images on one 1996800-byte base, as measured on Podman 5.7 (busybox,
		// and two built FROM it); the image list's sizes would sum to 6821747.
		{"5: layers once, used unique sizes kept", types.SystemDfReport{ImagesSize: 2828147, Images: []*types.SystemDfImageReport{
			img("busybox", 1998063, 1263, 1), img("sdt1", 2309442, 312642, 0), img("sdt2", 2514242, 517442, 0), img("sdt2", 2514242, 517442, 0)}},
			ImageUsage{Size: 2828147, Reclaimable: 2828147 - 1263}},
		{"5: never below zero", types.SystemDfReport{ImagesSize: 10, Images: []*types.SystemDfImageReport{img("a", 50, 50, 1)}},
			ImageUsage{Size: 10, Reclaimable: 0}},
		{"no images", types.SystemDfReport{}, ImageUsage{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := imageUsage(&tc.df); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

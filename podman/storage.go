package podman

import (
	"fmt"
	"syscall"
	"time"

	"github.com/containers/podman/v5/libpod/define"
)

// Storage is where a service keeps its images, containers and volumes, and how full
// that is: the two file systems of containers/storage (from the slow refresh), and
// what Podman measured of images and volumes (from the size round, see storage_df.go).
type Storage struct {
	GraphRoot, RunRoot FileSystem
	// Measured is when Podman last measured images, volumes and container layers;
	// zero until it has, and then Images and Volumes hold that measurement.
	Measured time.Time
	// MeasureDuration is how long Podman took for it: its walk of every volume and
	// container layer, which paces the next one.
	MeasureDuration time.Duration
	Images          ImageUsage
	// Volumes are the sizes of the volumes the service lists now, by name; a volume
	// created since the last measurement has none yet. Shared: never modify.
	Volumes []VolumeUsage
}

// FileSystem is one storage root's file system, as statfs sees it. A figure nobody
// could measure is -1.
type FileSystem struct {
	// Path is the root's path on Podman's host; empty until the service's info has
	// been read.
	Path string
	// Size and Used are Podman's own statfs for the graphroot (podman info's
	// graphRootAllocated and graphRootUsed: used counts the blocks reserved for root
	// as used, as df does); for the runroot, podexporter's.
	Size, Used int64
	// Available is what an unprivileged writer may still use (df's Avail), from
	// podexporter's own statfs: only where it sees the same file system as Podman.
	Available int64
}

// unknownFS is a file system nothing is known of yet.
func unknownFS(path string) FileSystem {
	return FileSystem{Path: path, Size: -1, Used: -1, Available: -1}
}

// ImageUsage is images' disk use as `podman system df` of the service's version
// counts it (imageUsage).
type ImageUsage struct {
	Size, Reclaimable int64
}

// VolumeUsage is one volume's size when Podman last measured it.
type VolumeUsage struct {
	Name     string
	Size     int64
	Measured time.Time
}

// statfsFunc is syscall.Statfs; tests give another to see what is asked.
type statfsFunc func(path string, st *syscall.Statfs_t) error

// fileSystems takes the storage roots' figures out of an info answer and completes
// them with a statfs of our own. Info's graphroot figures are Podman's statfs on its
// own host, so they hold when podexporter runs in a container that does not see
// /var/lib/containers; our statfs adds what info lacks (Available, and the runroot,
// of which info says nothing but the path) only where the path is visible, and for
// the graphroot only when it finds a file system of the size Podman reported, not a
// container's own directory of the same name.
func fileSystems(store *define.StoreInfo, statfs statfsFunc) (graph, run FileSystem) {
	if store == nil {
		return unknownFS(""), unknownFS("")
	}
	graph, run = unknownFS(store.GraphRoot), unknownFS(store.RunRoot)
	if store.GraphRoot != "" && store.GraphRootAllocated > 0 {
		graph.Size = clampInt64(store.GraphRootAllocated)
		graph.Used = clampInt64(store.GraphRootUsed)
		if size, _, avail, err := statfsBytes(statfs, store.GraphRoot); err == nil && size == graph.Size {
			graph.Available = avail
		}
	}
	if store.RunRoot != "" {
		if size, used, avail, err := statfsBytes(statfs, store.RunRoot); err == nil {
			run.Size, run.Used, run.Available = size, used, avail
		}
	}
	return graph, run
}

// statfsBytes is a file system's size, used and available bytes, counted as df -B1
// and Podman count them: used is everything not free, reserved blocks included.
func statfsBytes(statfs statfsFunc, path string) (size, used, avail int64, err error) {
	var st syscall.Statfs_t
	if err := statfs(path, &st); err != nil {
		return 0, 0, 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	bsize := uint64(st.Bsize)
	if st.Bfree > st.Blocks || st.Bavail > st.Blocks {
		return 0, 0, 0, fmt.Errorf("statfs %s: %d free of %d blocks", path, st.Bfree, st.Blocks)
	}
	return clampInt64(st.Blocks * bsize), clampInt64((st.Blocks - st.Bfree) * bsize), clampInt64(st.Bavail * bsize), nil
}

// clampInt64 keeps a byte count that no real file system reaches from turning
// negative.
func clampInt64(v uint64) int64 {
	if v > 1<<62 {
		return 1 << 62
	}
	return int64(v)
}

package podman

import (
	"time"

	"github.com/containers/podman/v5/pkg/domain/entities/types"
)

// The size round: one `podman system df` call (libpod/system/df) every
// --podman.size-interval gives containers' layer sizes, images' disk use and every
// volume's size. It replaces the sized container list, which walks the same container
// layers, so what it adds for Podman is the walk of the volumes; no other call gives
// images' use with shared layers counted once (the image list's sizes count a shared
// base once per image). Podman walks at full speed while it answers, so the round
// runs beside the engine's goroutine (stats and events go on) and is paced: after a
// round that took d, the next waits at least d·(1/sizeShare − 1).

// sizeShare is the most of its time Podman spends measuring sizes for us, over a
// round and the pause after it: on a host whose volumes hold millions of files the
// walk takes tens of seconds, and the size interval alone would let it run for a
// large share of every interval.
const sizeShare = 0.05

// sizePacer says when the next size round may start.
type sizePacer struct{ next time.Time }

// due says whether a round may start at now.
func (p *sizePacer) due(now time.Time) bool { return !now.Before(p.next) }

// done records a round that ran from began to ended.
func (p *sizePacer) done(began, ended time.Time) {
	took := max(ended.Sub(began), 0)
	p.next = ended.Add(time.Duration(float64(took) * (1/sizeShare - 1)))
}

// sizeResult is one size round's answers, taken beside the engine's goroutine and
// applied by it.
type sizeResult struct {
	df    *types.SystemDfReport
	dfErr error
	// list is the sized container list, asked only when df failed: Podman fails all
	// of df when one volume cannot be walked, and the container sizes need not wait.
	list         []types.ListContainer
	listErr      error
	began, ended time.Time
}

// measureSizes runs one size round; it touches no engine state, so it may run
// beside the engine's goroutine.
func measureSizes(api API, now func() time.Time) sizeResult {
	r := sizeResult{began: now()}
	r.df, r.dfErr = api.SystemDf()
	if r.dfErr != nil || r.df == nil {
		r.list, r.listErr = api.ListContainers(true)
	}
	r.ended = now()
	return r
}

// storageState is the engine's storage knowledge between snapshots.
type storageState struct {
	graph, run FileSystem
	measured   time.Time
	took       time.Duration
	images     ImageUsage
	// volumes are the sizes of the last measurement by name; listed the volumes of
	// the current list that have one, rebuilt when either changes.
	volumes map[string]VolumeUsage
	listed  []VolumeUsage
	pacer   sizePacer
}

// snapshot is the storage part of a snapshot; it shares listed, which is replaced,
// never changed.
func (s *storageState) snapshot() Storage {
	return Storage{GraphRoot: s.graph, RunRoot: s.run, Measured: s.measured, MeasureDuration: s.took, Images: s.images, Volumes: s.listed}
}

// joinVolumes keeps the sizes of the volumes the service lists now, in its order: a
// volume removed since the measurement is gone at once.
func (s *storageState) joinVolumes(vs []Volume) {
	var out []VolumeUsage
	for _, v := range vs {
		if u, ok := s.volumes[v.Name]; ok {
			out = append(out, u)
		}
	}
	s.listed = out
}

// applySizes takes a size round's answers into the engine's state.
func (e *Engine) applySizes(r sizeResult) error {
	e.storage.pacer.done(r.began, r.ended)
	if r.dfErr == nil && r.df != nil {
		sizes := make(map[string][2]int64, len(r.df.Containers))
		for _, c := range r.df.Containers {
			if c != nil {
				sizes[c.ContainerID] = [2]int64{c.RWSize, c.Size}
			}
		}
		e.applyContainerSizes(sizes)
		st := &e.storage
		st.measured, st.took = r.ended, r.ended.Sub(r.began)
		st.images = imageUsage(r.df)
		st.volumes = make(map[string]VolumeUsage, len(r.df.Volumes))
		for _, v := range r.df.Volumes {
			if v != nil {
				st.volumes[v.VolumeName] = VolumeUsage{Name: v.VolumeName, Size: v.Size, Measured: r.ended}
			}
		}
		st.joinVolumes(e.volumes)
		return nil
	}
	if err := e.apiError("system_df", r.dfErr); err != nil {
		return err
	}
	if r.listErr != nil {
		return e.apiError("list_containers_size", r.listErr)
	}
	sizes := make(map[string][2]int64, len(r.list))
	for _, lc := range r.list {
		if lc.Size != nil {
			sizes[lc.ID] = [2]int64{lc.Size.RwSize, lc.Size.RootFsSize}
		}
	}
	e.applyContainerSizes(sizes)
	return nil
}

// applyContainerSizes sets the layer sizes of the containers the engine has. One it
// does not have yet waits for the next round: the answer may be older than its
// removal, and a size kept for a container already forgotten would stay forever.
func (e *Engine) applyContainerSizes(sizes map[string][2]int64) {
	for id, sz := range sizes {
		c, ok := e.containers[id]
		if !ok {
			continue
		}
		e.sizes[id] = sz
		c.RWSize, c.RootFSSize = sz[0], sz[1]
	}
}

// imageUsage is images' total and reclaimable size as `podman system df` of the
// service's version counts them. Since Podman 4.4 the service reports the total with
// each layer counted once (ImagesSize), and reclaimable is that total less the
// unique size of each image a container uses (so layers a used image shares with
// unused ones count as reclaimable, as in podman's own summary). Before 4.4 there is
// no total: it is the sum of image sizes, reclaimable the sum of those no container
// uses; that version's CLI counted an image once per tag, this counts it once.
func imageUsage(df *types.SystemDfReport) ImageUsage {
	seen := map[string]bool{}
	var sum, unused, usedUnique int64
	for _, im := range df.Images {
		if im == nil || seen[im.ImageID] {
			continue
		}
		seen[im.ImageID] = true
		sum += im.Size
		if im.Containers > 0 {
			usedUnique += im.UniqueSize
		} else {
			unused += im.Size
		}
	}
	if df.ImagesSize > 0 {
		return ImageUsage{Size: df.ImagesSize, Reclaimable: max(df.ImagesSize-usedUnique, 0)}
	}
	return ImageUsage{Size: sum, Reclaimable: unused}
}

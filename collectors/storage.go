package collectors

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/podman"
)

func init() {
	register("storage", "Podman storage: graphroot and runroot file systems, images' total and reclaimable size, volume sizes.", true, inventoryFactory(collectStorage))
}

// collectStorage emits one service's storage figures; what nobody could measure
// (-1, or nothing measured yet) is left out rather than shown as 0, which an alert on
// a full disk would read as empty.
func collectStorage(s *podman.Snapshot, ch chan<- prometheus.Metric) {
	e := emitter{ch}
	st := &s.Storage
	for _, fs := range []struct {
		fs                    podman.FileSystem
		size, used, available *catalog.Metric
	}{
		{st.GraphRoot, catalog.StorageGraphRootSize, catalog.StorageGraphRootUsed, catalog.StorageGraphRootAvailable},
		{st.RunRoot, catalog.StorageRunRootSize, catalog.StorageRunRootUsed, catalog.StorageRunRootAvailable},
	} {
		if fs.fs.Path == "" {
			continue // the service's info has not been read
		}
		for _, v := range []struct {
			m *catalog.Metric
			v int64
		}{{fs.size, fs.fs.Size}, {fs.used, fs.fs.Used}, {fs.available, fs.fs.Available}} {
			if v.v >= 0 {
				e.emit(v.m, float64(v.v), s.Service)
			}
		}
	}
	if st.Measured.IsZero() {
		return
	}
	e.emit(catalog.ImagesSize, float64(st.Images.Size), s.Service)
	e.emit(catalog.ImagesReclaimable, float64(st.Images.Reclaimable), s.Service)
	e.emit(catalog.PodmanSizeRoundDuration, st.MeasureDuration.Seconds(), s.Service)
	for _, v := range st.Volumes {
		e.emit(catalog.VolumeSize, float64(v.Size), v.Name, s.Service)
		e.emit(catalog.VolumeSizeMeasured, unixSeconds(v.Measured), v.Name, s.Service)
	}
}

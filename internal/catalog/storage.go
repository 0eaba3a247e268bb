package catalog

// Storage families: how full each Podman service's storage is and what fills it.
// The file systems come with the service's info every --podman.slow-interval; images
// and volumes from `podman system df`, every --podman.size-interval at most, since
// Podman walks every volume and container layer to answer it.
var (
	volumeSizeLabels = []string{"name", "podman_service"}

	graphRootAttrs = map[string]string{"podman.storage.root": "graphroot"}
	runRootAttrs   = map[string]string{"podman.storage.root": "runroot"}
)

func storageMetric(m Metric) *Metric {
	if m.Labels == nil {
		m.Labels = serviceLabels
	}
	m.Group = "podman storage"
	return register(m)
}

// storageAttrs returns attrs plus one more attribute, for the families told apart on the
// OpenTelemetry side by the root and the file system state.
func storageAttrs(attrs map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for ak, av := range attrs {
		out[ak] = av
	}
	return out
}

var (
	StorageGraphRootSize = storageMetric(Metric{Name: "podman_storage_graphroot_size_bytes", OTelName: "podman.storage.filesystem.limit", OTelAttributes: graphRootAttrs, Unit: "By", Kind: Gauge,
		Help: "Size of the file system that holds the service's graphroot (images, container layers and, by default, volumes): podman info's graphRootAllocated, Podman's own statfs, so it is right when podexporter runs in a container."})
	StorageGraphRootUsed = storageMetric(Metric{Name: "podman_storage_graphroot_used_bytes", OTelName: "podman.storage.filesystem.usage", OTelAttributes: storageAttrs(graphRootAttrs, "system.filesystem.state", "used"), Unit: "By", Kind: Gauge,
		Help: "Bytes in use on the graphroot's file system: podman info's graphRootUsed (size less free blocks, so blocks reserved for root count as used, as in df)."})
	StorageGraphRootAvailable = storageMetric(Metric{Name: "podman_storage_graphroot_available_bytes", OTelName: "podman.storage.filesystem.usage", OTelAttributes: storageAttrs(graphRootAttrs, "system.filesystem.state", "free"), Unit: "By", Kind: Gauge,
		Help: "Bytes an unprivileged writer can still use on the graphroot's file system (df's Avail), from podexporter's own statfs of the graphroot: absent where podexporter does not see it (in a container without it mounted) or sees a file system of another size there. df's Use% is used / (used + available)."})
	StorageRunRootSize = storageMetric(Metric{Name: "podman_storage_runroot_size_bytes", OTelName: "podman.storage.filesystem.limit", OTelAttributes: runRootAttrs, Unit: "By", Kind: Gauge,
		Help: "Size of the file system that holds the service's runroot (container state, usually a tmpfs), from podexporter's own statfs: podman info gives only the path, so absent where podexporter does not see it (in a container without it mounted)."})
	StorageRunRootUsed = storageMetric(Metric{Name: "podman_storage_runroot_used_bytes", OTelName: "podman.storage.filesystem.usage", OTelAttributes: storageAttrs(runRootAttrs, "system.filesystem.state", "used"), Unit: "By", Kind: Gauge,
		Help: "Bytes in use on the runroot's file system (size less free blocks), from podexporter's own statfs; absent where it does not see the runroot."})
	StorageRunRootAvailable = storageMetric(Metric{Name: "podman_storage_runroot_available_bytes", OTelName: "podman.storage.filesystem.usage", OTelAttributes: storageAttrs(runRootAttrs, "system.filesystem.state", "free"), Unit: "By", Kind: Gauge,
		Help: "Bytes an unprivileged writer can still use on the runroot's file system (df's Avail), from podexporter's own statfs; absent where it does not see the runroot."})

	ImagesSize = storageMetric(Metric{Name: "podman_images_size_bytes", OTelName: "podman.images.size", Unit: "By", Kind: Gauge,
		Help: "Disk space of the service's images as podman system df counts it (Podman 4.4 and later: every layer once, however many images share it; before 4.4: the sum of image sizes, each image once), measured every --podman.size-interval."})
	ImagesReclaimable = storageMetric(Metric{Name: "podman_images_reclaimable_bytes", OTelName: "podman.images.reclaimable", Unit: "By", Kind: Gauge,
		Help: "Image space podman system df calls reclaimable: what the images no container uses hold (dangling and unused alike). On Podman 4.4 and later it is the total less the unique size of each image a container uses, so layers a used image shares with unused ones count too; before 4.4, the sum of unused images' sizes."})

	VolumeSize = storageMetric(Metric{Name: "podman_volume_size_bytes", OTelName: "podman.volume.size", Unit: "By", Kind: Gauge, Labels: volumeSizeLabels,
		Help: "Size of the volume's files as podman system df measures it: apparent sizes, hard links once, directories' own sizes not counted (du -sb less the directories). The Podman service walks the volume, so volumes podexporter does not see (in a container) are measured too; a volume created since the last measurement has none yet."})
	VolumeSizeMeasured = storageMetric(Metric{Name: "podman_volume_size_measured_timestamp_seconds", OTelName: "podman.volume.size_measured_time", Unit: "s", Kind: Gauge, Labels: volumeSizeLabels,
		Help: "When podman_volume_size_bytes was measured, in Unix time: the end of the size round, every --podman.size-interval, later after a long one."})

	PodmanSizeRoundDuration = register(Metric{Name: "podexporter_podman_size_round_duration_seconds", Unit: "s", Kind: Gauge, Group: "podman source", Labels: serviceLabels,
		Help: "How long the last size round (podman system df: the service walks every container layer and volume) took. The next round waits at least 19 times as long, so the service spends at most 5% of its time measuring for podexporter, however large its volumes."})
)

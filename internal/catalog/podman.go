package catalog

// Label sets of the Podman families. Every series carries podman_service, which says
// which Podman API service (rootful, rootless-UID, or a remote URI) it came from.
var (
	containerLabels = []string{"id", "pod_id", "pod_name", "podman_service"}
	// ContainerInfoLabels are the fixed labels of podman_container_info; allowlisted
	// container labels follow them.
	ContainerInfoLabels = []string{"id", "name", "image", "image_id", "ports", "pod_id", "pod_name", "podman_service", "systemd_unit", "network_mode"}
	podLabels           = []string{"id", "podman_service"}
	imageLabels         = []string{"id", "repository", "tag", "podman_service"}
	serviceLabels       = []string{"podman_service"}
)

func container(m Metric) *Metric {
	if m.Labels == nil {
		m.Labels = containerLabels
	}
	m.Group = "podman containers"
	m.IDOf = SubjectContainer
	return register(m)
}

// Container families. Those marked Compat keep prometheus-podman-exporter's names.
var (
	ContainerInfo = register(Metric{Name: "podman_container_info", Kind: Info, Unit: "1", Group: "podman containers", Compat: true, IDOf: SubjectContainer,
		Labels: ContainerInfoLabels,
		Help:   "Container information; join on id with group_left for names, image and systemd unit."})
	ContainerState = container(Metric{Name: "podman_container_state", OTelName: "podman.container.state", Unit: "1", Kind: Gauge, Compat: true,
		Help: "Container current state (-1=unknown,0=created,1=initialized,2=running,3=stopped,4=paused,5=exited,6=removing,7=stopping)."})
	ContainerHealth = container(Metric{Name: "podman_container_health", OTelName: "podman.container.health", Unit: "1", Kind: Gauge, Compat: true,
		Help: "Container current health (-1=unknown,0=healthy,1=unhealthy,2=starting)."})
	ContainerCreated = container(Metric{Name: "podman_container_created_seconds", OTelName: "podman.container.created_time", Unit: "s", Kind: Gauge, Compat: true,
		Help: "Container creation time in unixtime."})
	ContainerStarted = container(Metric{Name: "podman_container_started_seconds", OTelName: "podman.container.started_time", Unit: "s", Kind: Gauge, Compat: true,
		Help: "Container started time in unixtime."})
	ContainerExited = container(Metric{Name: "podman_container_exited_seconds", OTelName: "podman.container.exited_time", Unit: "s", Kind: Gauge, Compat: true,
		Help: "Container exited time in unixtime."})
	ContainerExitCode = container(Metric{Name: "podman_container_exit_code", OTelName: "podman.container.exit_code", Unit: "1", Kind: Gauge, Compat: true,
		Help: "Container exit code, if the container has not exited or restarted then the exit code will be 0."})
	ContainerPids = container(Metric{Name: "podman_container_pids", OTelName: "podman.container.pids", Unit: "{process}", Kind: Gauge, Compat: true,
		Help: "Number of processes in the container."})
	ContainerCPU = container(Metric{Name: "podman_container_cpu_seconds_total", Unit: "s", Kind: Counter, Compat: true,
		Help: "Total CPU time spent by the container in seconds."})
	ContainerCPUSystem = container(Metric{Name: "podman_container_cpu_system_seconds_total", OTelName: "container.cpu.time", OTelAttributes: map[string]string{"cpu.mode": "system"}, Unit: "s", Kind: Counter, Compat: true,
		Help: "Total system (kernel) CPU time spent by the container in seconds."})
	ContainerCPUUser = container(Metric{Name: "podman_container_cpu_user_seconds_total", OTelName: "container.cpu.time", OTelAttributes: map[string]string{"cpu.mode": "user"}, Unit: "s", Kind: Counter,
		Help: "Total user CPU time spent by the container in seconds."})
	ContainerMemUsage = container(Metric{Name: "podman_container_mem_usage_bytes", OTelName: "container.memory.usage", Unit: "By", Kind: Gauge, Compat: true,
		Help: "Container memory usage in bytes."})
	ContainerMemLimit = container(Metric{Name: "podman_container_mem_limit_bytes", OTelName: "podman.container.memory.limit", Unit: "By", Kind: Gauge, Compat: true,
		Help: "Container memory limit in bytes."})
	ContainerMemRSS = container(Metric{Name: "podman_container_memory_rss_bytes", OTelName: "container.memory.rss", Unit: "By", Kind: Gauge,
		Help: "Anonymous memory of the container (cgroup rss or anon)."})
	ContainerMemCache = container(Metric{Name: "podman_container_memory_cache_bytes", OTelName: "podman.container.memory.cache", Unit: "By", Kind: Gauge,
		Help: "Page cache charged to the container (cgroup cache or file)."})
	ContainerMemWorkingSet = container(Metric{Name: "podman_container_memory_working_set_bytes", OTelName: "container.memory.working_set", Unit: "By", Kind: Gauge,
		Help: "Memory usage minus inactive file cache: what the OOM killer looks at."})
	ContainerBlockInput = container(Metric{Name: "podman_container_block_input_total", OTelName: "container.disk.io", OTelAttributes: map[string]string{"disk.io.direction": "read"}, Unit: "By", Kind: Counter, Compat: true,
		Help: "Bytes the container read from block devices."})
	ContainerBlockOutput = container(Metric{Name: "podman_container_block_output_total", OTelName: "container.disk.io", OTelAttributes: map[string]string{"disk.io.direction": "write"}, Unit: "By", Kind: Counter, Compat: true,
		Help: "Bytes the container wrote to block devices."})
	ContainerRWSize = container(Metric{Name: "podman_container_rw_size_bytes", OTelName: "podman.container.rw_size", Unit: "By", Kind: Gauge, Compat: true,
		Help: "Container top read-write layer size in bytes."})
	ContainerRootFSSize = container(Metric{Name: "podman_container_rootfs_size_bytes", OTelName: "podman.container.rootfs_size", Unit: "By", Kind: Gauge, Compat: true,
		Help: "Container root filesystem size in bytes."})
)

// Network families: the compatible ones and their convention-following equivalents.
// Values come from Podman 5's stats or, on Podman 4.x, from /proc/PID/net/dev of the
// container's network namespace; host-network containers have none (see
// podman_container_host_network). With --ebpf.enable, bytes and packets come from the
// cgroup_skb programs instead, for host-network containers too: IP-level, without
// link headers (14 bytes per packet less than /proc/net/dev on Ethernet), counted
// since podexporter attached them.
var (
	ContainerNetInput = container(Metric{Name: "podman_container_net_input_total", Unit: "By", Kind: Counter, Compat: true,
		Help: "Container network input in bytes."})
	ContainerNetOutput = container(Metric{Name: "podman_container_net_output_total", Unit: "By", Kind: Counter, Compat: true,
		Help: "Container network output in bytes."})
	ContainerNetInputPackets = container(Metric{Name: "podman_container_net_input_packets_total", Unit: "{packet}", Kind: Counter, Compat: true,
		Help: "Container network input packets."})
	ContainerNetOutputPackets = container(Metric{Name: "podman_container_net_output_packets_total", Unit: "{packet}", Kind: Counter, Compat: true,
		Help: "Container network output packets."})
	ContainerNetInputErrors = container(Metric{Name: "podman_container_net_input_errors_total", Unit: "{error}", Kind: Counter, Compat: true,
		Help: "Container network input errors."})
	ContainerNetOutputErrors = container(Metric{Name: "podman_container_net_output_errors_total", Unit: "{error}", Kind: Counter, Compat: true,
		Help: "Container network output errors."})
	ContainerNetInputDropped = container(Metric{Name: "podman_container_net_input_dropped_total", Unit: "{packet}", Kind: Counter, Compat: true,
		Help: "Container network input packets dropped."})
	ContainerNetOutputDropped = container(Metric{Name: "podman_container_net_output_dropped_total", Unit: "{packet}", Kind: Counter, Compat: true,
		Help: "Container network output packets dropped."})
	ContainerNetReceiveBytes = container(Metric{Name: "podman_container_network_receive_bytes_total", OTelName: "container.network.io", OTelAttributes: map[string]string{"network.io.direction": "receive"}, Unit: "By", Kind: Counter,
		Help: "Bytes received on the container's interfaces, loopback excluded; IP-level, without link headers, when counted by eBPF."})
	ContainerNetTransmitBytes = container(Metric{Name: "podman_container_network_transmit_bytes_total", OTelName: "container.network.io", OTelAttributes: map[string]string{"network.io.direction": "transmit"}, Unit: "By", Kind: Counter,
		Help: "Bytes sent on the container's interfaces, loopback excluded; IP-level, without link headers, when counted by eBPF."})
	ContainerNetReceivePackets = container(Metric{Name: "podman_container_network_receive_packets_total", OTelName: "podman.container.network.packets", OTelAttributes: map[string]string{"network.io.direction": "receive"}, Unit: "{packet}", Kind: Counter,
		Help: "Packets received on the container's interfaces, loopback excluded; by eBPF, a GSO packet counts once, as on veth."})
	ContainerNetTransmitPackets = container(Metric{Name: "podman_container_network_transmit_packets_total", OTelName: "podman.container.network.packets", OTelAttributes: map[string]string{"network.io.direction": "transmit"}, Unit: "{packet}", Kind: Counter,
		Help: "Packets sent on the container's interfaces, loopback excluded; by eBPF, a GSO packet counts once, as on veth."})
	ContainerNetReceiveErrors = container(Metric{Name: "podman_container_network_receive_errors_total", OTelName: "podman.container.network.errors", OTelAttributes: map[string]string{"network.io.direction": "receive"}, Unit: "{error}", Kind: Counter,
		Help: "Receive errors on the container's interfaces."})
	ContainerNetTransmitErrors = container(Metric{Name: "podman_container_network_transmit_errors_total", OTelName: "podman.container.network.errors", OTelAttributes: map[string]string{"network.io.direction": "transmit"}, Unit: "{error}", Kind: Counter,
		Help: "Transmit errors on the container's interfaces."})
	ContainerNetReceiveDropped = container(Metric{Name: "podman_container_network_receive_dropped_total", OTelName: "podman.container.network.dropped", OTelAttributes: map[string]string{"network.io.direction": "receive"}, Unit: "{packet}", Kind: Counter,
		Help: "Received packets dropped on the container's interfaces."})
	ContainerNetTransmitDropped = container(Metric{Name: "podman_container_network_transmit_dropped_total", OTelName: "podman.container.network.dropped", OTelAttributes: map[string]string{"network.io.direction": "transmit"}, Unit: "{packet}", Kind: Counter,
		Help: "Sent packets dropped on the container's interfaces."})
	ContainerHostNetwork = container(Metric{Name: "podman_container_host_network", OTelName: "podman.container.host_network", Unit: "1", Kind: Gauge,
		Help: "1 when the container shares the host's network namespace, whose counters are the host's and are not reported per container unless eBPF counts them."})
)

// Health and lifecycle families beyond the compatible set.
var (
	ContainerHealthFailingStreak = container(Metric{Name: "podman_container_health_failing_streak", OTelName: "podman.container.health.failing_streak", Unit: "{check}", Kind: Gauge,
		Help: "Consecutive failed health checks."})
	ContainerHealthLastExitCode = container(Metric{Name: "podman_container_health_last_exit_code", OTelName: "podman.container.health.last_exit_code", Unit: "1", Kind: Gauge,
		Help: "Exit code of the most recent health check."})
	ContainerHealthLastDuration = container(Metric{Name: "podman_container_health_last_duration_seconds", OTelName: "podman.container.health.last_duration", Unit: "s", Kind: Gauge,
		Help: "How long the most recent health check took."})
	ContainerHealthChecks = container(Metric{Name: "podman_container_health_checks_total", OTelName: "podman.container.health.checks", Unit: "{check}", Kind: Counter,
		Labels: []string{"id", "pod_id", "pod_name", "podman_service", "result"},
		Help:   "Health checks seen since podexporter started, by result (success or failure)."})
	ContainerRestarts = container(Metric{Name: "podman_container_restarts_total", OTelName: "podman.container.restarts", Unit: "{restart}", Kind: Counter,
		Help: "Times Podman restarted the container under its restart policy."})
	ContainerOOMKilled = container(Metric{Name: "podman_container_oom_killed", OTelName: "podman.container.oom_killed", Unit: "1", Kind: Gauge,
		Help: "1 when the container's last exit was an OOM kill."})
	ContainerUptime = container(Metric{Name: "podman_container_uptime_seconds", OTelName: "container.uptime", Unit: "s", Kind: Gauge,
		Help: "Seconds since the container started (from its StartedAt, not from stats), for running containers."})
)

// Pod, image, volume, network and system families, all compatible.
var (
	PodInfo = register(Metric{Name: "podman_pod_info", Kind: Info, Unit: "1", Group: "podman pods", IDOf: SubjectPod, Compat: true,
		Labels: []string{"id", "name", "infra_id", "podman_service"}, Help: "Pod information."})
	PodState = register(Metric{Name: "podman_pod_state", OTelName: "podman.pod.state", Kind: Gauge, Unit: "1", Group: "podman pods", IDOf: SubjectPod, Compat: true, Labels: podLabels,
		Help: "Pods current state (-1=unknown,0=created,1=error,2=exited,3=paused,4=running,5=degraded,6=stopped)."})
	PodContainers = register(Metric{Name: "podman_pod_containers", OTelName: "podman.pod.containers", Kind: Gauge, Unit: "{container}", Group: "podman pods", IDOf: SubjectPod, Compat: true, Labels: podLabels,
		Help: "Number of containers in a pod."})
	PodCreated = register(Metric{Name: "podman_pod_created_seconds", OTelName: "podman.pod.created_time", Kind: Gauge, Unit: "s", Group: "podman pods", IDOf: SubjectPod, Compat: true, Labels: podLabels,
		Help: "Pods creation time in unixtime."})

	ImageInfo = register(Metric{Name: "podman_image_info", Kind: Info, Unit: "1", Group: "podman images", IDOf: SubjectImage, Compat: true,
		Labels: []string{"id", "parent_id", "repository", "tag", "digest", "podman_service"}, Help: "Image information."})
	ImageSize = register(Metric{Name: "podman_image_size", OTelName: "podman.image.size", Kind: Gauge, Unit: "By", Group: "podman images", IDOf: SubjectImage, Compat: true, Labels: imageLabels,
		Help: "Image size in bytes."})
	ImageCreated = register(Metric{Name: "podman_image_created_seconds", OTelName: "podman.image.created_time", Kind: Gauge, Unit: "s", Group: "podman images", IDOf: SubjectImage, Compat: true, Labels: imageLabels,
		Help: "Image creation time in unixtime."})

	VolumeInfo = register(Metric{Name: "podman_volume_info", Kind: Info, Unit: "1", Group: "podman volumes", Compat: true,
		Labels: []string{"name", "driver", "mount_point", "podman_service"}, Help: "Volume information."})
	VolumeCreated = register(Metric{Name: "podman_volume_created_seconds", OTelName: "podman.volume.created_time", Kind: Gauge, Unit: "s", Group: "podman volumes", Compat: true,
		Labels: []string{"name", "podman_service"}, Help: "Volume creation time in unixtime."})

	NetworkInfo = register(Metric{Name: "podman_network_info", Kind: Info, Unit: "1", Group: "podman networks", IDOf: SubjectNetwork, Compat: true,
		Labels: []string{"id", "name", "driver", "interface", "labels", "podman_service"}, Help: "Network information."})

	SystemAPIVersion = register(Metric{Name: "podman_system_api_version", Kind: Gauge, Unit: "1", Group: "podman system", Compat: true,
		Labels: []string{"version", "podman_service"}, Help: "Podman system api version."})
	SystemBuildahVersion = register(Metric{Name: "podman_system_buildah_version", Kind: Gauge, Unit: "1", Group: "podman system", Compat: true,
		Labels: []string{"version", "podman_service"}, Help: "Podman system buildah version."})
	SystemConmonVersion = register(Metric{Name: "podman_system_conmon_version", Kind: Gauge, Unit: "1", Group: "podman system", Compat: true,
		Labels: []string{"version", "podman_service"}, Help: "Podman system conmon version."})
	SystemRuntimeVersion = register(Metric{Name: "podman_system_runtime_version", Kind: Gauge, Unit: "1", Group: "podman system", Compat: true,
		Labels: []string{"version", "podman_service"}, Help: "Podman system runtime version."})
)

// The Podman source's own health.
var (
	PodmanUp = register(Metric{Name: "podexporter_podman_up", Kind: Gauge, Unit: "1", Group: "podman source", Labels: serviceLabels,
		Help: "Whether the last contact with the Podman service succeeded (1) or not (0)."})
	PodmanSnapshotAge = register(Metric{Name: "podexporter_podman_snapshot_age_seconds", Kind: Gauge, Unit: "s", Group: "podman source", Labels: serviceLabels,
		Help: "Seconds since the snapshot of this Podman service last changed from a successful API call."})
	PodmanStale = register(Metric{Name: "podexporter_podman_snapshot_stale", Kind: Gauge, Unit: "1", Group: "podman source", Labels: serviceLabels,
		Help: "1 while the service is unreachable and the last known data is served."})
	PodmanReconnects = register(Metric{Name: "podexporter_podman_event_stream_reconnects_total", Kind: Counter, Unit: "{reconnect}", Group: "podman source", Labels: serviceLabels,
		Help: "Times the Podman event stream ended and was reconnected."})
	PodmanForeignEvents = register(Metric{Name: "podexporter_podman_foreign_events_total", Kind: Counter, Unit: "{event}", Group: "podman source", Labels: serviceLabels,
		Help: "Container events in the service's stream about containers it does not have, left out: another service's, read from the shared journal (Podman before 4.4), or removed before podexporter could look."})
	PodmanAPIRequests = register(Metric{Name: "podexporter_podman_api_requests_total", Kind: Counter, Unit: "{request}", Group: "podman source",
		Labels: []string{"podman_service", "endpoint"}, Help: "Podman API requests made, by endpoint; scrapes add none."})
	PodmanErrors = register(Metric{Name: "podexporter_podman_errors_total", Kind: Counter, Unit: "{error}", Group: "podman source",
		Labels: []string{"podman_service", "call"}, Help: "Podman API calls that failed, by call."})
	PodmanContainersDropped = register(Metric{Name: "podexporter_podman_containers_dropped_total", Kind: Counter, Unit: "{container}", Group: "podman source", Labels: serviceLabels,
		Help: "Container snapshots left out because --podman.max-containers was reached."})
	PodmanContainersExcluded = register(Metric{Name: "podexporter_podman_containers_excluded", Kind: Gauge, Unit: "{container}", Group: "podman source", Labels: serviceLabels,
		Help: "Containers of the service that the container selection (--podman.include-*, --podman.exclude-*, the io.podexporter.metrics=false label) leaves out of the metrics; each costs its inventory entry, no stats."})
	PodmanLabelValuesCut = register(Metric{Name: "podexporter_podman_label_values_truncated_total", Kind: Counter, Unit: "{value}", Group: "podman source",
		Help: "Allowlisted container, pod and image label values cut to --podman.label-value-max-length, each counted once per object and label."})
)

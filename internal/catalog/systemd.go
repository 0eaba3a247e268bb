package catalog

// The service layer: units Quadlet generated, as the systemd managers (the system's,
// and rootless users') report them over D-Bus. Every series carries systemd_manager:
// "system" or "user-UID", the manager of a rootless-UID Podman service's units.
var (
	unitLabels = []string{"unit", "systemd_manager"}

	SystemdUp = register(Metric{Name: "podexporter_systemd_up", OTelName: "podexporter.systemd.up", Unit: "1", Kind: Gauge, Group: "systemd",
		Labels: []string{"systemd_manager"},
		Help:   "1 when podexporter is connected to this systemd manager over D-Bus, 0 when it is not (no systemd, no bus, or the bus refused it; the reason is logged once and counted in podexporter_systemd_errors_total)."})
	SystemdReconnects = register(Metric{Name: "podexporter_systemd_reconnects_total", Unit: "{connection}", Kind: Counter, Group: "systemd",
		Labels: []string{"systemd_manager"},
		Help:   "Connections to the manager made again after one was lost (systemctl daemon-reexec, a bus restart); each is followed by a full re-read."})
	SystemdResyncs = register(Metric{Name: "podexporter_systemd_resyncs_total", Unit: "{resync}", Kind: Counter, Group: "systemd",
		Labels: []string{"systemd_manager", "reason"},
		Help:   "Full re-reads of the manager's Quadlet units, by reason: start, reconnect, reload (systemctl daemon-reload re-ran the generators), interval (--systemd.resync-interval)."})
	SystemdErrors = register(Metric{Name: "podexporter_systemd_errors_total", Unit: "{error}", Kind: Counter, Group: "systemd",
		Labels: []string{"systemd_manager", "reason"},
		Help:   "What failed talking to the manager, by reason: connect (no socket or no answer), refused (the socket or the bus would not let podexporter in: see podexporter doctor), call (a D-Bus call failed), scan (a Quadlet directory could not be read)."})

	QuadletUnitInfo = register(Metric{Name: "podman_quadlet_unit_info", Kind: Info, Unit: "1", Group: "systemd",
		Labels: []string{"unit", "systemd_manager", "kind", "source_path", "restart"},
		Help:   "A unit the Quadlet generator made: its kind (container, pod, volume, network, kube, image, build, artifact), the Quadlet file and its Restart= setting. Join containers on podman_container_info's systemd_unit."})
	QuadletUnitState = register(Metric{Name: "podman_quadlet_unit_state", OTelName: "podman.quadlet.unit.state", Unit: "1", Kind: Gauge, Group: "systemd",
		Labels: []string{"unit", "systemd_manager", "state"},
		Help:   "The unit's ActiveState, one series per state (active, reloading, inactive, failed, activating, deactivating), 1 for the current one."})
	QuadletUnitResult = register(Metric{Name: "podman_quadlet_unit_result", OTelName: "podman.quadlet.unit.result", Unit: "1", Kind: Gauge, Group: "systemd",
		Labels: []string{"unit", "systemd_manager", "result"},
		Help:   "1, with the result label saying how the unit last ended or failed (systemd's Result: success, exit-code, signal, core-dump, timeout, watchdog, start-limit-hit, oom-kill, resources, ...)."})
	QuadletUnitRestarts = register(Metric{Name: "podman_quadlet_unit_restarts_total", OTelName: "podman.quadlet.unit.restarts", Unit: "{restart}", Kind: Counter, Group: "systemd",
		Labels: unitLabels,
		Help:   "Restarts systemd made under the unit's Restart= (NRestarts); a manual start resets it."})
	QuadletUnitMainExitStatus = register(Metric{Name: "podman_quadlet_unit_main_exit_status", OTelName: "podman.quadlet.unit.main.exit_status", Unit: "1", Kind: Gauge, Group: "systemd",
		Labels: []string{"unit", "systemd_manager", "how"},
		Help:   "The main process's last exit status (ExecMainStatus): an exit code when how=\"exited\", a signal number when how=\"killed\" or \"dumped\"; absent until the main process ended once."})
	QuadletUnitStateChange = register(Metric{Name: "podman_quadlet_unit_state_change_timestamp_seconds", OTelName: "podman.quadlet.unit.state_change_time", Unit: "s", Kind: Gauge, Group: "systemd",
		Labels: unitLabels,
		Help:   "When the unit's ActiveState last changed (StateChangeTimestamp), in Unix time."})
	QuadletFileWithoutUnit = register(Metric{Name: "podman_quadlet_file_without_unit", OTelName: "podman.quadlet.file.without_unit", Unit: "1", Kind: Gauge, Group: "systemd",
		Labels: []string{"path", "kind", "systemd_manager"},
		Help:   "1 for each Quadlet file in the manager's search paths from which no unit was generated: the generator rejected it (the reason is logged once), or systemctl daemon-reload has not run since it appeared."})
)

// Health checks that stopped, and each container against the Podman hardening guide.
var (
	ContainerHealthLastCheck = container(Metric{Name: "podman_container_health_last_check_timestamp_seconds", OTelName: "podman.container.health.last_check_time", Unit: "s", Kind: Gauge,
		Help: "When the container's most recent health check ended, in Unix time (the health log's last entry)."})
	ContainerHealthInterval = container(Metric{Name: "podman_container_health_interval_seconds", OTelName: "podman.container.health.interval", Unit: "s", Kind: Gauge,
		Help: "The container's configured health check interval; absent when checks are not scheduled (interval 0 or disable)."})
	ContainerHealthTimeout = container(Metric{Name: "podman_container_health_timeout_seconds", OTelName: "podman.container.health.timeout", Unit: "s", Kind: Gauge,
		Help: "The container's configured health check timeout."})
	ContainerHealthStale = container(Metric{Name: "podman_container_health_check_stale", OTelName: "podman.container.health.stale", Unit: "1", Kind: Gauge,
		Help: "1 when a running container's last health check (or its start, if none ran since) is older than three intervals plus the timeout: its checks have stopped (a lost systemd timer), else 0."})
	ContainerHardening = container(Metric{Name: "podman_container_hardening_passed", OTelName: "podman.container.hardening.passed", Unit: "1", Kind: Gauge,
		Labels: []string{"id", "pod_id", "pod_name", "podman_service", "check"},
		Help:   "1 when the container passes the hardening guide's check, else 0 (checks: rootless, non_root_user, read_only_rootfs, not_privileged, no_added_capabilities, seccomp, mac_confinement, image_digest, health_check, restart_policy; see docs/security.md)."})
)

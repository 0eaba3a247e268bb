package catalog

// The limits group: what the kernel enforces on each running container and how often
// it stepped in, read from the container's cgroup files by the stats round
// (cgroupfs.Mounts.Read), no API call. OpenTelemetry's container conventions name none
// of these, so they are podman.container.*.
const limitsGroup = "podman container limits"

var _ = documentGroup(limitsGroup, "podman containers", "Read from each running container's cgroup files, no API call: on cgroup v2 "+
	"from the container's cgroup directory; on cgroup v1, and on hybrid hosts whose controllers are v1's, "+
	"from each controller's hierarchy, with pressure from the cgroup2 tree hybrid hosts also mount. "+
	"A family is absent where its file says nothing: a limit set to none (`max`, `-1`), throttling without "+
	"a CPU limit (the kernel counts no periods then), a file the kernel does not offer (v1 has no `memory.high` and no low, high or oom event counts; `memory.peak` needs "+
	"Linux 5.19, the cpu `full` line 5.13; pressure needs cgroup2 and PSI on), or cgroup2 without "+
	"controllers (a container with a private cgroup namespace on a hybrid host: pressure only). "+
	"The counters and pressure are read every second stats round (every 20 s at the defaults), the limits "+
	"every `--podman.slow-interval` (they change only with `podman update`, which Podman 4.3 has no event "+
	"for). `memory.stat` and `/proc/PID/net/dev`, read every round, stay open between rounds and are read "+
	"again from the start, and the counter files are opened by name in the container's cgroup directories, "+
	"which stay open too: at most 5 descriptors per running container, within a quarter of the open file "+
	"limit (beyond it files are opened by their path each time).")

// limit declares a family of the group, read from the files given for cgroup v2 and v1
// ("" for none), which its help names too.
func limit(m Metric, v2, v1 string) *Metric {
	m.Labels, m.Group, m.IDOf = containerLabels, limitsGroup, SubjectContainer
	m.Cgroup = &CgroupFiles{V2: v2, V1: v1}
	if v1 == "" {
		m.Help += " From " + v2 + " on cgroup v2; v1 has none."
	} else {
		m.Help += " From " + v2 + " on cgroup v2, " + v1 + " on v1."
	}
	return register(m)
}

// CPU limit and throttling.
var (
	ContainerCPULimit = limit(Metric{Name: "podman_container_cpu_limit_cores", OTelName: "podman.container.cpu.limit", Unit: "{cpu}", Kind: Gauge,
		Help: "CPU the container may use, in cores: its quota per period (podman run --cpus); absent when unlimited."},
		"`cpu.max`", "`cpu.cfs_quota_us` / `cpu.cfs_period_us`")
	ContainerCPUSet = limit(Metric{Name: "podman_container_cpuset_cpus", OTelName: "podman.container.cpuset.cpus", Unit: "{cpu}", Kind: Gauge,
		Help: "How many CPUs the container may run on: its cpuset's effective CPUs (podman run --cpuset-cpus, else the parent's)."},
		"`cpuset.cpus.effective`", "`cpuset.effective_cpus`")
	ContainerCPUPeriods = limit(Metric{Name: "podman_container_cpu_periods_total", OTelName: "podman.container.cpu.periods", Unit: "{period}", Kind: Counter,
		Help: "Enforcement periods of the CPU limit in which the container had tasks to run; the share throttled is throttled periods over these. Absent without a CPU limit."},
		"`cpu.stat` nr_periods", "`cpu.stat` nr_periods")
	ContainerCPUThrottledPeriods = limit(Metric{Name: "podman_container_cpu_throttled_periods_total", OTelName: "podman.container.cpu.throttled_periods", Unit: "{period}", Kind: Counter,
		Help: "Enforcement periods in which the container used up its CPU quota and was throttled. Absent without a CPU limit."},
		"`cpu.stat` nr_throttled", "`cpu.stat` nr_throttled")
	ContainerCPUThrottled = limit(Metric{Name: "podman_container_cpu_throttled_seconds_total", OTelName: "podman.container.cpu.throttled_time", Unit: "s", Kind: Counter,
		Help: "Time the container's tasks were held back by its CPU limit, summed over them. Absent without a CPU limit."},
		"`cpu.stat` throttled_usec", "`cpu.stat` throttled_time")
)

// Memory limits, peak and swap. The compatible podman_container_mem_limit_bytes is the
// API's, which says the host's memory when there is no limit; these are absent then.
var (
	ContainerMemoryMax = limit(Metric{Name: "podman_container_memory_max_bytes", OTelName: "podman.container.memory.max", Unit: "By", Kind: Gauge,
		Help: "The container's hard memory limit (podman run --memory), past which the kernel OOM-kills; absent when unlimited. On v1 the lower of the container's and its parents' limits."},
		"`memory.max`", "`memory.stat` hierarchical_memory_limit (`memory.limit_in_bytes`)")
	ContainerMemoryHigh = limit(Metric{Name: "podman_container_memory_high_bytes", OTelName: "podman.container.memory.high", Unit: "By", Kind: Gauge,
		Help: "The container's memory throttle limit (podman run --cgroup-conf memory.high=...), past which the kernel reclaims hard and slows its allocations; absent when unlimited."},
		"`memory.high`", "")
	ContainerMemoryPeak = limit(Metric{Name: "podman_container_memory_peak_bytes", OTelName: "podman.container.memory.peak", Unit: "By", Kind: Gauge,
		Help: "The highest memory usage the container's cgroup has had since it was created."},
		"`memory.peak`", "`memory.max_usage_in_bytes`")
	ContainerSwapUsage = limit(Metric{Name: "podman_container_memory_swap_usage_bytes", OTelName: "podman.container.memory.swap.usage", Unit: "By", Kind: Gauge,
		Help: "Swap the container uses; absent without swap accounting."},
		"`memory.swap.current`", "`memory.stat` total_swap")
	ContainerSwapMax = limit(Metric{Name: "podman_container_memory_swap_max_bytes", OTelName: "podman.container.memory.swap.max", Unit: "By", Kind: Gauge,
		Help: "Swap the container may use (podman run --memory-swap less --memory); absent when unlimited or without swap accounting."},
		"`memory.swap.max`", "`memory.stat` hierarchical_memsw_limit less hierarchical_memory_limit")
	ContainerPIDsLimit = limit(Metric{Name: "podman_container_pids_limit", OTelName: "podman.container.pids.limit", Unit: "{process}", Kind: Gauge,
		Help: "How many processes and threads the container may have (podman run --pids-limit); absent when unlimited."},
		"`pids.max`", "`pids.max`")
)

// Memory events, one family each: the v1 files differ per event. On the OpenTelemetry
// side one instrument, told apart by the event.
var (
	ContainerMemoryLowEvents = limit(Metric{Name: "podman_container_memory_low_events_total", OTelName: "podman.container.memory.events", OTelAttributes: memoryEvent("low"), Unit: "{event}", Kind: Counter,
		Help: "Times the container's memory was reclaimed although it was under its memory.low protection."},
		"`memory.events` low", "")
	ContainerMemoryHighEvents = limit(Metric{Name: "podman_container_memory_high_events_total", OTelName: "podman.container.memory.events", OTelAttributes: memoryEvent("high"), Unit: "{event}", Kind: Counter,
		Help: "Times the container went over its memory.high limit and was throttled."},
		"`memory.events` high", "")
	ContainerMemoryMaxEvents = limit(Metric{Name: "podman_container_memory_max_events_total", OTelName: "podman.container.memory.events", OTelAttributes: memoryEvent("max"), Unit: "{event}", Kind: Counter,
		Help: "Times the container's memory usage reached its hard limit, before reclaim (and, failing that, the OOM killer)."},
		"`memory.events` max", "`memory.failcnt`")
	ContainerMemoryOOMEvents = limit(Metric{Name: "podman_container_memory_oom_events_total", OTelName: "podman.container.memory.events", OTelAttributes: memoryEvent("oom"), Unit: "{event}", Kind: Counter,
		Help: "Times the container was out of memory at its limit and an allocation was about to fail."},
		"`memory.events` oom", "")
	ContainerMemoryOOMKills = limit(Metric{Name: "podman_container_memory_oom_kill_events_total", OTelName: "podman.container.memory.events", OTelAttributes: memoryEvent("oom_kill"), Unit: "{event}", Kind: Counter,
		Help: "Processes of the container the OOM killer killed, whether or not the container ended with them (podman_container_oom_killed says when its main process was one)."},
		"`memory.events` oom_kill", "`memory.oom_control` oom_kill")
)

func memoryEvent(e string) map[string]string { return map[string]string{"podman.memory.event": e} }

// Pressure stall information, named as cAdvisor names it for Kubernetes (waiting: some
// task stalled; stalled: all non-idle tasks at once). On the OpenTelemetry side one
// instrument per resource, told apart by the stall type, as the PSI conventions
// proposed for hosts (system.*.linux.pressure with system.linux.pressure.stall_type).
var (
	ContainerCPUWaiting = pressure("cpu", "waiting", "some", "Time at least one of the container's tasks waited for a CPU (PSI some), throttling included.")
	ContainerCPUStalled = pressure("cpu", "stalled", "full",
		"Time all the container's non-idle tasks waited for a CPU at once (PSI full).")
	ContainerMemoryWaiting = pressure("memory", "waiting", "some",
		"Time at least one of the container's tasks was stalled on memory: reclaim, swap-in, refaults (PSI some).")
	ContainerMemoryStalled = pressure("memory", "stalled", "full",
		"Time all the container's non-idle tasks were stalled on memory at once (PSI full).")
	ContainerIOWaiting = pressure("io", "waiting", "some",
		"Time at least one of the container's tasks waited for block I/O (PSI some).")
	ContainerIOStalled = pressure("io", "stalled", "full",
		"Time all the container's non-idle tasks waited for block I/O at once (PSI full).")
)

func pressure(resource, word, stall, help string) *Metric {
	file := "`" + resource + ".pressure` " + stall + " total"
	return limit(Metric{Name: "podman_container_pressure_" + resource + "_" + word + "_seconds_total",
		OTelName: "podman.container." + resource + ".pressure.stall_time", OTelAttributes: map[string]string{"podman.pressure.stall_type": stall},
		Unit: "s", Kind: Counter, Help: help}, file, "")
}

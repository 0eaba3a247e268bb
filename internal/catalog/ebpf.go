package catalog

// eBPF families (--ebpf.enable). The per-container bytes and packets the programs count
// are not separate families: they feed podman_container_network_* (see podman.go),
// where they take precedence over /proc/PID/net/dev.
var (
	EBPFEnabled = register(Metric{Name: "podexporter_ebpf_enabled", Kind: Gauge, Unit: "1", Group: "ebpf",
		Help: "Whether the eBPF network counters are attached (1) or off or failed to load (0); the log says what is missing."})
	EBPFExtrasEnabled = register(Metric{Name: "podexporter_ebpf_extras_enabled", Kind: Gauge, Unit: "1", Group: "ebpf",
		Help: "Whether the TCP retransmit and packet drop tracepoint programs are attached (1) or not (0)."})
	EBPFProgramRunTime = register(Metric{Name: "podexporter_ebpf_program_run_seconds_total", Kind: Counter, Unit: "s", Group: "ebpf", Labels: []string{"program"},
		Help: "Time the kernel spent running the program, measured while BPF statistics are on (podexporter turns them on while it runs)."})
	EBPFProgramRuns = register(Metric{Name: "podexporter_ebpf_program_runs_total", Kind: Counter, Unit: "{run}", Group: "ebpf", Labels: []string{"program"},
		Help: "Times the kernel ran the program (once per packet for the cgroup_skb programs) while BPF statistics are on."})
	ContainerTCPRetransmits = register(Metric{Name: "podman_container_tcp_retransmits_total", OTelName: "podman.container.tcp.retransmits", Kind: Counter, Unit: "{segment}", Group: "ebpf", IDOf: SubjectContainer,
		Labels: containerLabels,
		Help:   "TCP segments the container's sockets retransmitted, from the tcp:tcp_retransmit_skb tracepoint (--ebpf.extras)."})
	ContainerPacketDrops = register(Metric{Name: "podman_container_packet_drops_total", OTelName: "podman.container.network.packet.drops", Kind: Counter, Unit: "{packet}", Group: "ebpf", IDOf: SubjectContainer,
		Labels: append(append([]string(nil), containerLabels...), "reason"),
		Help:   "Packets of the container's sockets the kernel dropped, by the kernel's drop reason name, from the skb:kfree_skb tracepoint (--ebpf.extras)."})
)

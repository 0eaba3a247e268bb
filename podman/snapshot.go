// Package podman is the Podman source: one Engine per Podman API service keeps a
// Snapshot current from the event stream and a periodic stats poll, so that scrapes and
// pushes read memory instead of calling the API. It produces plain values and knows
// nothing of Prometheus or OTLP.
package podman

import (
	"time"

	"github.com/podexporter/podexporter/internal/cgroupfs"
)

// Snapshot is one consistent view of one Podman service. It is never modified after it
// is published: readers may keep it as long as they like without locks.
type Snapshot struct {
	// Service names the Podman service for the podman_service label: "rootful",
	// "rootless-UID", or the URI for remote services.
	Service string
	URI     string
	// Up is whether the last contact with the service succeeded.
	Up bool
	// Stale means the service is unreachable and the data is the last known.
	Stale bool
	// Updated is when the data last changed from a successful API call.
	Updated    time.Time
	Reconnects uint64
	// ForeignEvents counts container events left out because the container is not
	// this service's (see Engine.owns).
	ForeignEvents uint64
	// APIRequests counts calls made to the service, by endpoint.
	APIRequests map[string]uint64
	// Errors counts failed refreshes, by what failed (list, inspect, stats, events, ...).
	Errors map[string]uint64
	// ContainersDropped counts containers left out because of --podman.max-containers.
	ContainersDropped uint64
	// ContainersExcluded is how many of the service's containers the container
	// selection leaves out of the metrics (Container.Excluded).
	ContainersExcluded int

	Containers []Container
	Pods       []Pod
	Images     []Image
	Volumes    []Volume
	Networks   []Network
	System     System
	// Storage is how full the service's storage is and what fills it (storage.go).
	Storage Storage
	// HealthChecks counts health_status events per container id and result, since
	// podexporter started.
	HealthChecks map[string]map[string]uint64

	index map[string]int // id -> position in Containers, see Find
}

// Container is what the list, inspect and stats calls say about one container.
type Container struct {
	ID      string // full id
	Name    string
	Image   string
	ImageID string
	Ports   string
	PodID   string
	PodName string
	Labels  map[string]string
	// ExportedLabels are the allowlisted labels it has, values cut as every output
	// shows them; LabelsCut names those whose value was cut. Shared: never modify.
	ExportedLabels map[string]string
	LabelsCut      []string
	SystemdUnit    string // PODMAN_SYSTEMD_UNIT, set by Quadlet and podman generate systemd
	NetworkMode    string
	// State is Podman's state word: created, initialized, running, stopped, paused,
	// exited, removing, stopping, unknown.
	State        string
	Created      time.Time
	Started      time.Time
	Finished     time.Time
	ExitCode     int32
	RestartCount int32
	OOMKilled    bool
	Pid          int
	CgroupPath   string
	// Infra says it is a pod's infra container.
	Infra bool
	// Excluded says the container selection (Options.Select) leaves it out of the
	// metrics: it is kept for what only needs its inventory entry (the journal
	// reader's enrichment, unit lookups, lifecycle events), has no Stats, and no
	// output shows a series of it.
	Excluded bool

	Health Health
	// Security is how the container was confined when it was created.
	Security Security

	RWSize, RootFSSize int64 // -1 until the slow refresh measured them

	// Stats is nil until the first stats poll sees the container running.
	Stats *Stats
}

// HostNetwork says the container shares the host's network namespace, so its network
// counters would be the host's and are not reported.
func (c *Container) HostNetwork() bool { return c.NetworkMode == "host" }

// Health is the container's healthcheck state; Status is empty without a healthcheck.
type Health struct {
	Status        string // healthy, unhealthy, starting
	FailingStreak int
	// LastExitCode and LastDuration describe the most recent check.
	LastExitCode int
	LastDuration time.Duration
	LastCheck    time.Time
	// Interval is how often the check is scheduled: 0 when it is not (no check, or
	// interval 0 or "disable", which Podman stores as 0), so that nobody waits for a
	// check that will never come. Timeout is how long one check may take. Both are
	// the configuration's, set with or without a status.
	Interval time.Duration
	Timeout  time.Duration
}

// Security is what inspect says about a container's confinement, as plain facts: the
// judgement of them (the hardening checks) belongs to the outputs, not the source.
type Security struct {
	// User is Config.User: the container's user as given to podman run or taken from
	// the image's USER; "" runs as root.
	User           string
	ReadOnlyRootfs bool
	Privileged     bool
	// CapAdd are the capabilities added to Podman's default set. Shared by
	// snapshots: never modify.
	CapAdd []string
	// SecurityOpt are the --security-opt values as inspect shows them, such as
	// "seccomp=unconfined", "label=disable", "apparmor=unconfined". Shared: never
	// modify.
	SecurityOpt []string
	// AppArmorProfile is the profile the container runs under, "" when the host has
	// no AppArmor.
	AppArmorProfile string
	// ProcessLabel is the container's SELinux process label, "" when the host has no
	// SELinux or labelling is disabled.
	ProcessLabel string
	// ImageRef is the image as the container was created from it (Config.Image): a
	// reference by tag or by digest.
	ImageRef string
	// RestartPolicy is Podman's own restart policy: "", "no", "on-failure", "always",
	// "unless-stopped".
	RestartPolicy string
	// HealthDefined says a health check is configured and not disabled (NONE),
	// whether or not it is scheduled.
	HealthDefined bool
}

// Stats are a running container's resource counters.
type Stats struct {
	Time      time.Time
	CPUTotal  time.Duration
	CPUSystem time.Duration
	MemUsage  uint64
	MemLimit  uint64
	Memory    *MemoryDetail // nil when the cgroup could not be read
	// Limits is what the kernel enforces on the container's cgroup and how often it
	// stepped in (CPU limit and throttling, memory limits, peak, swap and events, the
	// pids limit, pressure), each value only where the kernel offers it
	// (cgroupfs.Limits.Has); nil without cgroup mounts. The counters are read every
	// second round, the limits every slow interval (cgroupfs.AgesFor). Shared by
	// snapshots: never modify.
	Limits       *cgroupfs.Limits
	PIDs         uint64
	BlockRead    uint64
	BlockWritten uint64
	// Network is nil when no source had counters, and for host-network containers
	// unless eBPF counts them.
	Network *NetworkCounters
}

// MemoryDetail comes from the container's memory cgroup.
type MemoryDetail struct {
	RSS, Cache, WorkingSet uint64
}

// NetworkCounters are summed over the container's interfaces except loopback.
type NetworkCounters struct {
	// Source is "api" (Podman 5 stats), "netns" (/proc/PID/net/dev) or "ebpf"
	// (cgroup_skb programs: IP-level bytes, without link headers).
	Source                                  string
	RxBytes, RxPackets, RxErrors, RxDropped uint64
	TxBytes, TxPackets, TxErrors, TxDropped uint64
}

// Pod is one pod.
type Pod struct {
	ID, Name, InfraID, State string
	Created                  time.Time
	Containers               int
	// ExportedLabels are the allowlisted labels it has (--podman.pod-label), values
	// cut as for containers; LabelsCut names those whose value was cut. Shared:
	// never modify.
	ExportedLabels map[string]string
	LabelsCut      []string
}

// Image is one image; an image with several tags appears once per tag.
type Image struct {
	ID, ParentID, Repository, Tag, Digest string
	Created                               time.Time
	Size                                  int64
	// ExportedLabels are the allowlisted labels it has (--podman.image-label), values
	// cut as for containers; LabelsCut names those whose value was cut. Shared by an
	// image's tags: never modify.
	ExportedLabels map[string]string
	LabelsCut      []string
}

// Volume is one volume.
type Volume struct {
	Name, Driver, MountPoint string
	Created                  time.Time
}

// Network is one network.
type Network struct {
	ID, Name, Driver, Interface, Labels string
}

// System holds component versions and what the service says of itself; it is empty
// until the service's info has been read once (APIVersion is then set).
type System struct {
	APIVersion, BuildahVersion, ConmonVersion, RuntimeVersion string
	// Rootless is the service's own word that it runs without root.
	Rootless bool
}

// Find returns the container with the given full or 12-character id. The journal
// reader asks once per log line, so it is a map lookup.
func (s *Snapshot) Find(id string) (*Container, bool) {
	if s.index == nil {
		for i := range s.Containers {
			c := &s.Containers[i]
			if c.ID == id || (len(id) == 12 && ShortID(c.ID) == id) {
				return c, true
			}
		}
		return nil, false
	}
	i, ok := s.index[id]
	if !ok {
		return nil, false
	}
	return &s.Containers[i], true
}

// buildIndex maps full and short ids to positions; called once before publishing.
func (s *Snapshot) buildIndex() {
	s.index = make(map[string]int, 2*len(s.Containers))
	for i, c := range s.Containers {
		s.index[c.ID] = i
		if len(c.ID) > 12 {
			s.index[ShortID(c.ID)] = i
		}
	}
}

package collectors

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/podman"
	"github.com/podexporter/podexporter/podman/podmanconf"
)

// Snapshots is what the Podman collectors read: the source's current snapshots.
type Snapshots interface {
	Snapshots() []*podman.Snapshot
}

func init() {
	register("podman", "Podman source health: up, snapshot age, reconnects, API requests.", true, newPodmanSourceCollector)
	register("container", "Podman containers: state, health, lifecycle, CPU, memory, block and network I/O, cgroup limits, throttling, memory events and pressure.", true, newContainerCollector)
	register("pod", "Podman pods.", true, newPodCollector)
	register("image", "Podman images.", true, newImageCollector)
	register("volume", "Podman volumes.", true, inventoryFactory(collectVolumes))
	register("network", "Podman networks.", true, inventoryFactory(collectNetworks))
	register("system", "Podman component versions.", true, inventoryFactory(collectSystem))
}

// PodmanCollectorNames are the collectors that read the Podman source; the daemon runs
// the source only when one of them is enabled.
var PodmanCollectorNames = []string{"podman", "container", "pod", "image", "volume", "network", "system", "hardening", "storage"}

// inventoryCollector emits metrics of one kind (pods, images, ...) from each snapshot;
// all of it is cached per snapshot, so its Update has nothing to do per scrape.
type inventoryCollector struct {
	collect func(s *podman.Snapshot, ch chan<- prometheus.Metric)
}

// inventoryFactory makes a collector for one kind of inventory (pods, images, ...).
func inventoryFactory(collect func(*podman.Snapshot, chan<- prometheus.Metric)) func(Deps) (Collector, error) {
	return func(Deps) (Collector, error) {
		return &inventoryCollector{collect: collect}, nil
	}
}

func (c *inventoryCollector) Update(context.Context, chan<- prometheus.Metric) error { return nil }

func (c *inventoryCollector) collectSnapshot(s *podman.Snapshot, ch chan<- prometheus.Metric) {
	c.collect(s, ch)
}

// emit sends one sample of a catalog metric; descriptors are built once per family.
type emitter struct {
	ch chan<- prometheus.Metric
}

var descCache sync.Map // *catalog.Metric -> *prometheus.Desc

func cachedDesc(m *catalog.Metric) *prometheus.Desc {
	if d, ok := descCache.Load(m); ok {
		return d.(*prometheus.Desc)
	}
	d, _ := descCache.LoadOrStore(m, desc(m))
	return d.(*prometheus.Desc)
}

func (e emitter) emit(m *catalog.Metric, v float64, labels ...string) {
	send(e.ch, cachedDesc(m), valueType(m), v, labels...)
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() || t.Unix() <= 0 {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// --- source health ---

type podmanSourceCollector struct{ src Snapshots }

func newPodmanSourceCollector(d Deps) (Collector, error) {
	return &podmanSourceCollector{src: d.Podman}, nil
}

func (c *podmanSourceCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	if c.src == nil {
		return nil
	}
	e := emitter{ch}
	now := time.Now()
	for _, s := range c.src.Snapshots() {
		e.emit(catalog.PodmanUp, boolValue(s.Up), s.Service)
		e.emit(catalog.PodmanStale, boolValue(s.Stale), s.Service)
		if !s.Updated.IsZero() {
			e.emit(catalog.PodmanSnapshotAge, now.Sub(s.Updated).Seconds(), s.Service)
		}
		e.emit(catalog.PodmanReconnects, float64(s.Reconnects), s.Service)
		e.emit(catalog.PodmanForeignEvents, float64(s.ForeignEvents), s.Service)
		e.emit(catalog.PodmanContainersDropped, float64(s.ContainersDropped), s.Service)
		e.emit(catalog.PodmanContainersExcluded, float64(s.ContainersExcluded), s.Service)
		for ep, n := range s.APIRequests {
			e.emit(catalog.PodmanAPIRequests, float64(n), s.Service, ep)
		}
		for call, n := range s.Errors {
			e.emit(catalog.PodmanErrors, float64(n), s.Service, call)
		}
	}
	return nil
}

// --- containers ---

var containerStates = map[string]float64{
	"created": 0, "configured": 0, "initialized": 1, "running": 2, "stopped": 3,
	"paused": 4, "exited": 5, "removing": 6, "stopping": 7,
}

var healthStates = map[string]float64{"healthy": 0, "unhealthy": 1, "starting": 2}

// containerCollector carries the label options: the name and image labels on value
// metrics and the allowlisted container labels on podman_container_info.
type containerCollector struct {
	src    Snapshots
	labels containerLabels
	info   *infoFamily
	// counting says an allowlist (of containers, pods or images) is set, so that
	// values cut to --podman.label-value-max-length are counted.
	counting bool
	descs    map[*catalog.Metric]*prometheus.Desc

	mu  sync.Mutex      // guards descs and cut: Update and collectSnapshot may overlap
	cut map[string]bool // kind/id/label triples already counted as truncated
}

func newContainerCollector(d Deps) (Collector, error) {
	c := &containerCollector{src: d.Podman, cut: map[string]bool{}, descs: map[*catalog.Metric]*prometheus.Desc{}}
	c.labels = containerLabelsOf(d)
	// Validated at start: two keys cannot share a name here.
	allow, err := podmanconf.NewAllowlist("--podman.container-label", d.ContainerLabels, catalog.ContainerInfoLabels)
	if err != nil {
		return nil, err
	}
	c.info = newInfoFamily(catalog.ContainerInfo, allow)
	c.counting = !allow.Empty() || len(d.PodLabels) > 0 || len(d.ImageLabels) > 0
	return c, nil
}

// vdesc is a value metric's descriptor, with the name label when configured.
func (c *containerCollector) vdesc(m *catalog.Metric) *prometheus.Desc {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.descs[m]; ok {
		return d
	}
	d := c.labels.desc(m)
	c.descs[m] = d
	return d
}

// Update sends what changes between scrapes of one snapshot: uptime, health check
// staleness, and the count of truncated label values. Everything else comes from
// collectSnapshot, cached.
func (c *containerCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	if c.src == nil {
		return nil
	}
	now := time.Now()
	for _, s := range c.src.Snapshots() {
		for i := range s.Containers {
			k := &s.Containers[i]
			if k.Excluded {
				continue
			}
			if k.State == "running" && !k.Started.IsZero() {
				send(ch, c.vdesc(catalog.ContainerUptime), prometheus.GaugeValue, now.Sub(k.Started).Seconds(), c.baseLabels(s, k)...)
			}
			if stale, applies := healthStale(now, k); applies {
				send(ch, c.vdesc(catalog.ContainerHealthStale), prometheus.GaugeValue, boolValue(stale), c.baseLabels(s, k)...)
			}
		}
	}
	if c.counting {
		c.mu.Lock()
		n := len(c.cut)
		c.mu.Unlock()
		emitter{ch}.emit(catalog.PodmanLabelValuesCut, float64(n))
	}
	return nil
}

// healthStale says whether container k's scheduled health checks have stopped: the
// last check (or the start, when none ran since) is older than three intervals plus
// the timeout, long enough for a slow check and two missed ones. On a systemd host the
// checks run from a transient timer, and a timer lost (a daemon-reload race, a
// systemctl reset-failed, a host without systemd) stops them without a word: the
// status then stays whatever it was, healthy included. applies is false where no check
// is due: a container not running, without a check, or with checks run only on demand
// (interval 0).
func healthStale(now time.Time, k *podman.Container) (stale, applies bool) {
	h := &k.Health
	if k.State != "running" || h.Interval <= 0 {
		return false, false
	}
	since := k.Started
	if h.LastCheck.After(since) {
		since = h.LastCheck
	}
	if since.IsZero() {
		return false, false
	}
	// In seconds: a configured interval of centuries must not overflow into "stale".
	limit := 3*h.Interval.Seconds() + h.Timeout.Seconds()
	return now.Sub(since).Seconds() > limit, true
}

func (c *containerCollector) collectSnapshot(s *podman.Snapshot, ch chan<- prometheus.Metric) {
	for i := range s.Containers {
		if !s.Containers[i].Excluded {
			c.container(s, &s.Containers[i], ch)
		}
	}
	// Pods' and images' cut values are counted here, with the containers', in the
	// one counter of values cut.
	for _, p := range s.Pods {
		c.countCut("pod/"+p.ID, p.LabelsCut)
	}
	for _, im := range s.Images {
		c.countCut("image/"+im.ID, im.LabelsCut)
	}
}

// countCut records that the labels keys of the object named by id had their values
// cut: counted once per object and label, not per scrape.
func (c *containerCollector) countCut(id string, keys []string) {
	if len(keys) == 0 {
		return
	}
	c.mu.Lock()
	for _, key := range keys {
		c.cut[id+"/"+key] = true
	}
	c.mu.Unlock()
}

func (c *containerCollector) baseLabels(s *podman.Snapshot, k *podman.Container) []string {
	return c.labels.values(s, k)
}

func (c *containerCollector) container(s *podman.Snapshot, k *podman.Container, ch chan<- prometheus.Metric) {
	id := podman.ShortID(k.ID)
	base := c.baseLabels(s, k)
	emit := func(m *catalog.Metric, v float64) {
		send(ch, c.vdesc(m), valueType(m), v, base...)
	}

	// The allowlisted labels' values were cut by the source, as on every output.
	c.info.send(ch, k.ExportedLabels, id, k.Name, k.Image, k.ImageID, k.Ports, k.PodID, k.PodName, s.Service, k.SystemdUnit, k.NetworkMode)
	c.countCut("container/"+k.ID, k.LabelsCut)

	state, ok := containerStates[k.State]
	if !ok {
		state = -1
	}
	emit(catalog.ContainerState, state)
	health, ok := healthStates[k.Health.Status]
	if !ok {
		health = -1
	}
	emit(catalog.ContainerHealth, health)
	emit(catalog.ContainerCreated, unixSeconds(k.Created))
	emit(catalog.ContainerStarted, unixSeconds(k.Started))
	emit(catalog.ContainerExited, unixSeconds(k.Finished))
	emit(catalog.ContainerExitCode, float64(k.ExitCode))
	emit(catalog.ContainerRestarts, float64(k.RestartCount))
	emit(catalog.ContainerOOMKilled, boolValue(k.OOMKilled))
	emit(catalog.ContainerHostNetwork, boolValue(k.HostNetwork()))
	if k.RWSize >= 0 {
		emit(catalog.ContainerRWSize, float64(k.RWSize))
		emit(catalog.ContainerRootFSSize, float64(k.RootFSSize))
	}
	if k.Health.Status != "" {
		emit(catalog.ContainerHealthFailingStreak, float64(k.Health.FailingStreak))
		if !k.Health.LastCheck.IsZero() {
			emit(catalog.ContainerHealthLastExitCode, float64(k.Health.LastExitCode))
			emit(catalog.ContainerHealthLastDuration, k.Health.LastDuration.Seconds())
			emit(catalog.ContainerHealthLastCheck, unixSeconds(k.Health.LastCheck))
		}
		checks := s.HealthChecks[k.ID]
		for _, result := range []string{"success", "failure"} {
			send(ch, c.vdesc(catalog.ContainerHealthChecks), prometheus.CounterValue, float64(checks[result]), c.labels.values(s, k, result)...)
		}
	}
	// The configuration, with or without a status: a created container has a check
	// that has not run.
	if k.Security.HealthDefined {
		if k.Health.Interval > 0 {
			emit(catalog.ContainerHealthInterval, k.Health.Interval.Seconds())
		}
		emit(catalog.ContainerHealthTimeout, k.Health.Timeout.Seconds())
	}

	st := k.Stats
	if st == nil || k.State != "running" {
		return
	}
	emit(catalog.ContainerPids, float64(st.PIDs))
	emit(catalog.ContainerCPU, st.CPUTotal.Seconds())
	emit(catalog.ContainerCPUSystem, st.CPUSystem.Seconds())
	emit(catalog.ContainerCPUUser, max(st.CPUTotal-st.CPUSystem, 0).Seconds())
	emit(catalog.ContainerMemUsage, float64(st.MemUsage))
	emit(catalog.ContainerMemLimit, float64(st.MemLimit))
	if m := st.Memory; m != nil {
		emit(catalog.ContainerMemRSS, float64(m.RSS))
		emit(catalog.ContainerMemCache, float64(m.Cache))
		emit(catalog.ContainerMemWorkingSet, float64(m.WorkingSet))
	}
	emitLimits(st.Limits, emit)
	emit(catalog.ContainerBlockInput, float64(st.BlockRead))
	emit(catalog.ContainerBlockOutput, float64(st.BlockWritten))
	if n := st.Network; n != nil {
		for _, p := range []struct {
			compat, conv *catalog.Metric
			v            uint64
		}{
			{catalog.ContainerNetInput, catalog.ContainerNetReceiveBytes, n.RxBytes},
			{catalog.ContainerNetOutput, catalog.ContainerNetTransmitBytes, n.TxBytes},
			{catalog.ContainerNetInputPackets, catalog.ContainerNetReceivePackets, n.RxPackets},
			{catalog.ContainerNetOutputPackets, catalog.ContainerNetTransmitPackets, n.TxPackets},
			{catalog.ContainerNetInputErrors, catalog.ContainerNetReceiveErrors, n.RxErrors},
			{catalog.ContainerNetOutputErrors, catalog.ContainerNetTransmitErrors, n.TxErrors},
			{catalog.ContainerNetInputDropped, catalog.ContainerNetReceiveDropped, n.RxDropped},
			{catalog.ContainerNetOutputDropped, catalog.ContainerNetTransmitDropped, n.TxDropped},
		} {
			emit(p.compat, float64(p.v))
			emit(p.conv, float64(p.v))
		}
	}
}

// --- pods, images, volumes, networks, system ---

var podStates = map[string]float64{"Created": 0, "Error": 1, "Exited": 2, "Paused": 3, "Running": 4, "Degraded": 5, "Stopped": 6}

// podCollector puts the allowlisted pod labels (--podman.pod-label) on podman_pod_info.
type podCollector struct{ info *infoFamily }

func newPodCollector(d Deps) (Collector, error) {
	allow, err := podmanconf.NewAllowlist("--podman.pod-label", d.PodLabels, catalog.PodInfo.Labels)
	if err != nil {
		return nil, err
	}
	return &podCollector{info: newInfoFamily(catalog.PodInfo, allow)}, nil
}

func (*podCollector) Update(context.Context, chan<- prometheus.Metric) error { return nil }

func (c *podCollector) collectSnapshot(s *podman.Snapshot, ch chan<- prometheus.Metric) {
	e := emitter{ch}
	for _, p := range s.Pods {
		c.info.send(ch, p.ExportedLabels, p.ID, p.Name, p.InfraID, s.Service)
		state, ok := podStates[p.State]
		if !ok {
			state = -1
		}
		e.emit(catalog.PodState, state, p.ID, s.Service)
		e.emit(catalog.PodContainers, float64(p.Containers), p.ID, s.Service)
		e.emit(catalog.PodCreated, unixSeconds(p.Created), p.ID, s.Service)
	}
}

// imageCollector puts the allowlisted image labels (--podman.image-label) on
// podman_image_info.
type imageCollector struct{ info *infoFamily }

func newImageCollector(d Deps) (Collector, error) {
	allow, err := podmanconf.NewAllowlist("--podman.image-label", d.ImageLabels, catalog.ImageInfo.Labels)
	if err != nil {
		return nil, err
	}
	return &imageCollector{info: newInfoFamily(catalog.ImageInfo, allow)}, nil
}

func (*imageCollector) Update(context.Context, chan<- prometheus.Metric) error { return nil }

func (c *imageCollector) collectSnapshot(s *podman.Snapshot, ch chan<- prometheus.Metric) {
	e := emitter{ch}
	for _, im := range s.Images {
		c.info.send(ch, im.ExportedLabels, im.ID, im.ParentID, im.Repository, im.Tag, im.Digest, s.Service)
		e.emit(catalog.ImageSize, float64(im.Size), im.ID, im.Repository, im.Tag, s.Service)
		e.emit(catalog.ImageCreated, unixSeconds(im.Created), im.ID, im.Repository, im.Tag, s.Service)
	}
}

func collectVolumes(s *podman.Snapshot, ch chan<- prometheus.Metric) {
	e := emitter{ch}
	for _, v := range s.Volumes {
		e.emit(catalog.VolumeInfo, 1, v.Name, v.Driver, v.MountPoint, s.Service)
		e.emit(catalog.VolumeCreated, unixSeconds(v.Created), v.Name, s.Service)
	}
}

func collectNetworks(s *podman.Snapshot, ch chan<- prometheus.Metric) {
	e := emitter{ch}
	for _, n := range s.Networks {
		e.emit(catalog.NetworkInfo, 1, n.ID, n.Name, n.Driver, n.Interface, n.Labels, s.Service)
	}
}

func collectSystem(s *podman.Snapshot, ch chan<- prometheus.Metric) {
	if s.System.APIVersion == "" {
		return
	}
	e := emitter{ch}
	e.emit(catalog.SystemAPIVersion, 1, s.System.APIVersion, s.Service)
	e.emit(catalog.SystemBuildahVersion, 1, s.System.BuildahVersion, s.Service)
	e.emit(catalog.SystemConmonVersion, 1, s.System.ConmonVersion, s.Service)
	e.emit(catalog.SystemRuntimeVersion, 1, s.System.RuntimeVersion, s.Service)
}

package podman

import (
	"maps"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/containers/podman/v5/libpod/define"

	"github.com/podexporter/podexporter/internal/selector"
	"github.com/podexporter/podexporter/podman/podmanconf"
)

func (e *Engine) forget(id string) {
	if c, ok := e.containers[id]; ok {
		now := time.Now().UnixNano()
		e.gone.put(id, c, now, now)
	}
	delete(e.containers, id)
	delete(e.healthChecks, id)
	delete(e.lastCheck, id)
	delete(e.sizes, id)
	delete(e.oomKilled, id)
}

// inspect refreshes one container; a 404 means it is gone.
func (e *Engine) inspect(api API, id string) error {
	data, err := api.InspectContainer(id)
	return e.applyInspect(id, data, err)
}

// applyInspect takes what inspecting container id answered, now or when its first
// event arrived (probe).
func (e *Engine) applyInspect(id string, data *define.InspectContainerData, err error) error {
	if isNotFound(err) {
		e.forget(id)
		return nil
	}
	if err != nil || data == nil || data.State == nil {
		return e.apiError("inspect_container", err)
	}
	c := &Container{
		ID:           data.ID,
		Name:         strings.TrimPrefix(data.Name, "/"),
		Image:        data.ImageName,
		ImageID:      ShortID(data.Image),
		PodID:        ShortID(data.Pod),
		State:        data.State.Status,
		Created:      data.Created,
		Started:      data.State.StartedAt,
		Finished:     data.State.FinishedAt,
		ExitCode:     data.State.ExitCode,
		RestartCount: data.RestartCount,
		OOMKilled:    data.State.OOMKilled,
		Pid:          data.State.Pid,
		CgroupPath:   data.State.CgroupPath,
		Infra:        data.IsInfra,
		RWSize:       -1,
		RootFSSize:   -1,
	}
	if data.Config != nil {
		c.Labels = data.Config.Labels
		c.SystemdUnit = data.Config.Labels["PODMAN_SYSTEMD_UNIT"]
		c.ExportedLabels, c.LabelsCut = exportLabels(c.Labels, e.opts.LabelKeys, e.opts.LabelValueMax)
	}
	// Decided at every inspect, not once: a rename changes the name it is judged by.
	c.Excluded = !e.opts.Select.Selects(selector.Container{Name: c.Name, Image: c.Image, Labels: c.Labels, Infra: c.Infra})
	if data.HostConfig != nil {
		c.NetworkMode = data.HostConfig.NetworkMode
		c.Ports = formatPorts(data.HostConfig.PortBindings)
	}
	c.Security = securityOf(data)
	if c.Security.HealthDefined { // and so Config.Healthcheck is not nil
		hc := data.Config.Healthcheck
		c.Health.Interval, c.Health.Timeout = healthSchedule(hc.Interval, hc.Timeout)
	}
	if h := data.State.Health; h != nil && h.Status != "" {
		c.Health.Status, c.Health.FailingStreak = h.Status, h.FailingStreak
		if n := len(h.Log); n > 0 {
			last := h.Log[n-1]
			start, _ := time.Parse(time.RFC3339Nano, last.Start)
			end, _ := time.Parse(time.RFC3339Nano, last.End)
			c.Health.LastExitCode = last.ExitCode
			c.Health.LastCheck = end
			if !start.IsZero() && end.After(start) {
				c.Health.LastDuration = end.Sub(start)
			}
			// Count each check once, however many events or relists show it.
			if prev, ok := e.lastCheck[c.ID]; !ok || end.After(prev) {
				if ok {
					result := "success"
					if last.ExitCode != 0 {
						result = "failure"
					}
					if e.healthChecks[c.ID] == nil {
						e.healthChecks[c.ID] = map[string]uint64{}
					}
					e.healthChecks[c.ID][result]++
				}
				e.lastCheck[c.ID] = end
			}
		}
	}
	old, known := e.containers[c.ID]
	if known && c.State == "running" && !c.Excluded {
		c.Stats = old.Stats // keep counters until the next poll
	}
	e.detectOOM(c)
	if known {
		e.derive(old, c)
	}
	if sz, ok := e.sizes[c.ID]; ok {
		c.RWSize, c.RootFSSize = sz[0], sz[1]
	}
	e.containers[c.ID] = c
	return nil
}

// defaultHealthTimeout is Podman's (define.DefaultHealthCheckTimeout), for a check
// whose configuration has none.
const defaultHealthTimeout = 30 * time.Second

// securityOf takes the facts the hardening checks judge out of one inspect answer, any
// part of which a service may leave out.
func securityOf(data *define.InspectContainerData) Security {
	s := Security{AppArmorProfile: data.AppArmorProfile, ProcessLabel: data.ProcessLabel, ImageRef: data.ImageName}
	if cfg := data.Config; cfg != nil {
		s.User = cfg.User
		if cfg.Image != "" {
			s.ImageRef = cfg.Image
		}
		// An empty test inherits the image's check, which Podman resolves at
		// creation: empty here means none. NONE is the image's check switched off.
		if hc := cfg.Healthcheck; hc != nil && len(hc.Test) > 0 && hc.Test[0] != "NONE" {
			s.HealthDefined = true
		}
	}
	if hc := data.HostConfig; hc != nil {
		s.ReadOnlyRootfs = hc.ReadonlyRootfs
		s.Privileged = hc.Privileged
		s.CapAdd = hc.CapAdd
		s.SecurityOpt = hc.SecurityOpt
		if hc.RestartPolicy != nil {
			s.RestartPolicy = hc.RestartPolicy.Name
		}
	}
	return s
}

// healthSchedule is a defined check's interval and timeout. Podman writes its 30 s
// default interval into the configuration when none is given, so a zero interval here
// is "disable" (or 0): the check runs only when asked, and nobody may call it stale.
// A zero timeout is Podman's default.
func healthSchedule(configured, configuredTimeout time.Duration) (interval, timeout time.Duration) {
	interval, timeout = max(configured, 0), configuredTimeout
	if timeout <= 0 {
		timeout = defaultHealthTimeout
	}
	return interval, timeout
}

func (e *Engine) listPods(api API) error {
	list, err := api.ListPods()
	if err != nil {
		return e.apiError("list_pods", err)
	}
	ps := make([]Pod, 0, len(list))
	for _, p := range list {
		pod := Pod{
			ID: ShortID(p.Id), Name: p.Name, InfraID: ShortID(p.InfraId), State: p.Status,
			Created: p.Created, Containers: len(p.Containers),
		}
		pod.ExportedLabels, pod.LabelsCut = exportLabels(p.Labels, e.opts.PodLabelKeys, e.opts.LabelValueMax)
		ps = append(ps, pod)
	}
	e.pods = ps
	return nil
}

// refreshSlow re-lists what changes rarely and costs most: system info, images,
// volumes, networks.
func (e *Engine) refreshSlow(api API) error {
	if info, err := api.Info(); err != nil {
		if err := e.apiError("info", err); err != nil {
			return err
		}
	} else if info != nil {
		e.system = systemOf(info)
		e.storage.graph, e.storage.run = fileSystems(info.Store, syscall.Statfs)
	}
	return e.refreshInventory(api)
}

// refreshInventory re-lists images, volumes and networks: what their events change.
// System info is left to the slow interval: no event changes the versions it gives,
// and Podman 5 takes a second or more to answer it (three under load), while every
// podman run on the host, of any service sharing the journal, writes an image event.
func (e *Engine) refreshInventory(api API) error {
	if list, err := api.ListImages(); err != nil {
		if err := e.apiError("list_images", err); err != nil {
			return err
		}
	} else {
		var imgs []Image
		for _, im := range list {
			base := Image{ID: ShortID(im.ID), ParentID: ShortID(im.ParentId), Digest: im.Digest, Created: time.Unix(im.Created, 0), Size: im.Size}
			base.ExportedLabels, base.LabelsCut = exportLabels(im.Labels, e.opts.ImageLabelKeys, e.opts.LabelValueMax)
			if len(im.RepoTags) == 0 {
				base.Repository, base.Tag = "<none>", "<none>"
				imgs = append(imgs, base)
			}
			for _, rt := range im.RepoTags {
				i := base
				i.Repository, i.Tag = splitRepoTag(rt)
				imgs = append(imgs, i)
			}
		}
		e.images = imgs
	}
	if list, err := api.ListVolumes(); err != nil {
		if err := e.apiError("list_volumes", err); err != nil {
			return err
		}
	} else {
		vs := make([]Volume, 0, len(list))
		for _, v := range list {
			vs = append(vs, Volume{Name: v.Name, Driver: v.Driver, MountPoint: v.Mountpoint, Created: v.CreatedAt})
		}
		e.volumes = vs
		e.storage.joinVolumes(vs)
	}
	if list, err := api.ListNetworks(); err != nil {
		if err := e.apiError("list_networks", err); err != nil {
			return err
		}
	} else {
		ns := make([]Network, 0, len(list))
		for _, n := range list {
			ns = append(ns, Network{ID: ShortID(n.ID), Name: n.Name, Driver: n.Driver, Interface: n.NetworkInterface, Labels: formatLabels(n.Labels)})
		}
		e.networks = ns
	}
	return nil
}

// systemOf takes the component versions out of an info answer; a service may leave
// out any part of it.
func systemOf(info *define.Info) System {
	s := System{APIVersion: info.Version.APIVersion}
	if h := info.Host; h != nil {
		s.BuildahVersion = h.BuildahVersion
		s.Rootless = h.Security.Rootless
		if h.Conmon != nil {
			s.ConmonVersion = h.Conmon.Version
		}
		if h.OCIRuntime != nil {
			s.RuntimeVersion = h.OCIRuntime.Version
		}
	}
	return s
}

// exportLabels picks the allowlisted labels a container (pod, image) has, with their
// values as every output shows them (podmanconf.CutValue), and says which were cut.
// keys holding podmanconf.AllLabels take every label. Done once per inspect (list),
// so that /metrics, OTLP resources and log records cannot disagree.
func exportLabels(labels map[string]string, keys []string, max int) (map[string]string, []string) {
	if max <= 0 {
		max = podmanconf.DefaultLabelValueMaxLength
	}
	if slices.Contains(keys, podmanconf.AllLabels) {
		keys = slices.Sorted(maps.Keys(labels))
	}
	var out map[string]string
	var cut []string
	for _, k := range keys {
		v, ok := labels[k]
		if !ok {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(keys))
		}
		var shortened bool
		out[k], shortened = podmanconf.CutValue(v, max)
		if shortened {
			cut = append(cut, k)
		}
	}
	return out, cut
}

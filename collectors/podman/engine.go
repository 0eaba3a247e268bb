package podman

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containers/podman/v5/libpod/define"
	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/bindings/images"
	"github.com/containers/podman/v5/pkg/bindings/network"
	"github.com/containers/podman/v5/pkg/bindings/pods"
	"github.com/containers/podman/v5/pkg/bindings/system"
	"github.com/containers/podman/v5/pkg/bindings/volumes"
	"github.com/containers/podman/v5/pkg/domain/entities/types"
	"github.com/containers/podman/v5/pkg/errorhandling"

	"github.com/podexporter/podexporter/internal/cgroupfs"
)

// Options configures one Engine.
type Options struct {
	URI string
	// StatsInterval is how often one stats call covers all running containers.
	StatsInterval time.Duration
	// SlowInterval is how often system info, images, volumes and networks are re-listed
	// besides the refreshes their own events trigger.
	SlowInterval time.Duration
	// SizeInterval is how often container root filesystem sizes are measured, the
	// most expensive call Podman has; 0 turns it off.
	SizeInterval time.Duration
	// MaxContainers caps how many containers a snapshot holds; 0 means no cap.
	MaxContainers int
	// ProcRoot is where the host's /proc is, for the network namespace counters.
	ProcRoot string
	Cgroups  *cgroupfs.Mounts
	Logger   *slog.Logger
	// OOMLog, when set, says exactly which containers the kernel OOM-killed.
	OOMLog *OOMLog
	// Positions, when set, says where each service's event stream was acknowledged
	// before a restart: the first subscription resumes there.
	Positions *EventPositions
	// OnEvent, when set, is called with each container lifecycle event, from the
	// engine's goroutine: it must not block.
	OnEvent func(LifecycleEvent)
	// NetCounters, when set, gives network counters that take precedence over the
	// API's and /proc/PID/net/dev (eBPF); nil when off.
	NetCounters NetCounters
}

// NetCounters is a per-container source of network counters outside Podman, such as
// the eBPF programs. It also counts host-network containers.
type NetCounters interface {
	// Container returns the counters of a container by full id, with Source set.
	Container(fullID string) (*NetworkCounters, bool)
}

// LifecycleEvent is a change in a container's life worth telling a log pipeline.
type LifecycleEvent struct {
	Time time.Time
	// Action is start, died, stop, pause, unpause, restart, remove, oom or
	// health_status (sent when the status changed).
	Action    string
	Service   string
	Container Container
	// ExitCode is set for died.
	ExitCode int
	// Health is the new status for health_status.
	Health string
}

// Engine keeps the Snapshot of one Podman service current. All its state belongs to
// the goroutine in Run; readers see only published snapshots.
type Engine struct {
	opts    Options
	service string
	snap    atomic.Pointer[Snapshot]

	// Owned by Run's goroutine.
	containers   map[string]*Container
	pods         []Pod
	images       []Image
	volumes      []Volume
	networks     []Network
	system       System
	healthChecks map[string]map[string]uint64
	lastCheck    map[string]time.Time
	sizes        map[string][2]int64
	// oomKilled remembers kernel OOM kills Podman missed (see detectOOM).
	oomKilled map[string]bool
	oomSeen   []oomReading
	// statsBroken holds running containers Podman cannot give stats for (one left
	// "running" by a crash, whose cgroup is gone, say). Podman fails a stats call
	// for all containers when one of them fails, so these are asked for one by one,
	// outside the shared call, until they answer again or stop running.
	statsBroken map[string]error
	reconnects  uint64
	// Events are taken only for containers this service has. Podman before 4.4 reads
	// events from the one journal without matching its user, so a rootless service
	// whose user may read the journal reports the rootful service's events as its
	// own (and the rootful one a rootless user's). gone keeps the containers this
	// service removed, so their last events still resolve; foreign the ids it does
	// not have, so their events cost one inspect, not one each.
	gone          map[string]*Container
	foreign       map[string]bool
	foreignEvents uint64
	// lastEventNano and lastEventKeys are where the event stream was: a new
	// subscription after a reconnect starts there (Podman replays what happened
	// meanwhile) and drops what it had already seen.
	lastEventNano int64
	lastEventKeys map[string]bool
	errs          map[string]uint64
	dropped       uint64
	updated       time.Time

	reqMu    sync.Mutex
	requests map[string]uint64

	// lookups carries Lookup requests to the goroutine that owns the state, which
	// answers them only while serving: connected and past the initial lists.
	lookups chan lookupReq
	serving atomic.Bool
}

type lookupReq struct {
	id   string
	done chan struct{}
}

// New returns an Engine for one service; nothing happens until Run.
func New(o Options) *Engine {
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	e := &Engine{
		opts:          o,
		service:       ServiceName(o.URI),
		containers:    map[string]*Container{},
		healthChecks:  map[string]map[string]uint64{},
		lastCheck:     map[string]time.Time{},
		sizes:         map[string][2]int64{},
		oomKilled:     map[string]bool{},
		statsBroken:   map[string]error{},
		gone:          map[string]*Container{},
		foreign:       map[string]bool{},
		lastEventKeys: map[string]bool{},
		errs:          map[string]uint64{},
		requests:      map[string]uint64{},
		lookups:       make(chan lookupReq),
	}
	if o.Positions != nil {
		// Past the acknowledged event itself: it was delivered.
		if at := o.Positions.Since(e.service); at > 0 {
			e.lastEventNano = at + 1
		}
	}
	e.snap.Store(&Snapshot{Service: e.service, URI: o.URI, Stale: true})
	return e
}

// Lookup asks the engine to inspect a container it has not seen yet (a log line can
// arrive before the container's events) and waits up to timeout for the result. found
// says the service knows the container; answered says the engine gave a definite answer
// (false when it is down, still listing, or busy past the timeout).
func (e *Engine) Lookup(ctx context.Context, id string, timeout time.Duration) (c *Container, found, answered bool) {
	if c, ok := e.Snapshot().Find(id); ok {
		return c, true, true
	}
	if !e.serving.Load() {
		return nil, false, false // down or still listing: do not hold the caller up
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := lookupReq{id: id, done: make(chan struct{})}
	select {
	case e.lookups <- req:
	case <-ctx.Done():
		return nil, false, false
	}
	select {
	case <-req.done:
	case <-ctx.Done():
		return nil, false, false
	}
	c, found = e.Snapshot().Find(id)
	return c, found, true
}

// Snapshot returns the current snapshot; it never blocks and never calls Podman.
func (e *Engine) Snapshot() *Snapshot { return e.snap.Load() }

var rootlessSocket = regexp.MustCompile(`^unix:///run/user/(\d+)/podman/podman\.sock$`)

// ServiceName turns a socket URI into the short podman_service label value.
func ServiceName(uri string) string {
	switch {
	case uri == "unix:///run/podman/podman.sock":
		return "rootful"
	case rootlessSocket.MatchString(uri):
		return "rootless-" + rootlessSocket.FindStringSubmatch(uri)[1]
	}
	return uri
}

// Run connects, keeps the snapshot current, and reconnects with capped backoff when
// the service goes away, until ctx ends. started is called once, after the first
// attempt either way, so a host whose Podman is down still becomes ready.
func (e *Engine) Run(ctx context.Context, started func()) error {
	var once sync.Once
	start := func() { once.Do(started) }
	backoff := time.Second
	outage := false
	for {
		begun := time.Now()
		err := e.session(ctx, start, &outage)
		if ctx.Err() != nil {
			return nil
		}
		e.markDown()
		start()
		if !outage {
			// One line per outage, however long it lasts: a dead socket must not flood.
			e.opts.Logger.Warn("podman service unreachable; serving the last snapshot as stale and retrying",
				"podman_service", e.service, "uri", e.opts.URI, "err", err)
			outage = true
		}
		if time.Since(begun) > time.Minute {
			backoff = time.Second
		}
		wait := backoff + time.Duration(rand.Int64N(int64(backoff/4)+1))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (e *Engine) markDown() {
	old := e.snap.Load()
	s := *old
	s.Up, s.Stale = false, true
	s.Reconnects = e.reconnects
	s.Errors = cloneCounts(e.errs)
	s.APIRequests = e.requestCounts()
	e.snap.Store(&s)
}

// errEventsClosed means the event stream ended: the service stopped or restarted.
var errEventsClosed = errors.New("event stream closed")

// session is one connection's life: subscribe to events, list everything, then apply
// events and periodic polls until the connection breaks.
func (e *Engine) session(ctx context.Context, started func(), outage *bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, err := bindings.NewConnection(ctx, e.opts.URI)
	if err != nil {
		return fmt.Errorf("connect %s: %w", e.opts.URI, err)
	}
	e.count("_ping")
	if client, err := bindings.GetClient(conn); err == nil {
		client.Client.Transport = &countingTransport{next: client.Client.Transport, count: e.count}
	}

	// Subscribe before listing, so nothing that happens during the list is missed.
	events := make(chan types.Event, 256)
	cancelEvents := make(chan bool)
	stream := true
	opts := &system.EventsOptions{
		Stream:  &stream,
		Filters: map[string][]string{"type": {"container", "pod", "image", "volume", "network"}},
	}
	if e.lastEventNano > 0 {
		since := time.Unix(0, e.lastEventNano).UTC().Format(time.RFC3339Nano)
		opts.Since = &since
	}
	if err := system.Events(conn, events, cancelEvents, opts); err != nil {
		return fmt.Errorf("subscribe to events: %w", err)
	}
	defer func() {
		close(cancelEvents)
		// The binding's reader goroutine closes the channel once the body is closed.
		go func() {
			for range events {
			}
		}()
	}()

	if err := e.relist(conn); err != nil {
		return err
	}
	if err := e.refreshSlow(conn); err != nil {
		return err
	}
	if e.opts.SizeInterval > 0 {
		if err := e.refreshSizes(conn); err != nil {
			return err
		}
	}
	if err := e.refreshStats(conn); err != nil {
		return err
	}
	e.noteOOMCounter()
	e.publish(true)
	if *outage {
		e.opts.Logger.Info("podman service reachable again", "podman_service", e.service)
		*outage = false
	}
	started()
	e.serving.Store(true)
	defer e.serving.Store(false)

	statsT := time.NewTicker(e.opts.StatsInterval)
	defer statsT.Stop()
	slowT := time.NewTicker(e.opts.SlowInterval)
	defer slowT.Stop()
	var sizeC <-chan time.Time
	if e.opts.SizeInterval > 0 {
		sizeT := time.NewTicker(e.opts.SizeInterval)
		defer sizeT.Stop()
		sizeC = sizeT.C
	}
	// Events are applied in small batches: a burst of 200 starts costs one pass.
	dirty := map[string]bool{}
	podsDirty, slowDirty := false, false
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	defer flush.Stop()

	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				e.reconnects++
				return errEventsClosed
			}
			if !e.firstSight(ev) {
				continue
			}
			switch ev.Type {
			case "container":
				switch ev.Action {
				case "exec", "exec_died", "attach", "checkpoint", "export", "import", "mount", "unmount", "commit", "sync", "history":
					continue
				}
				owned, err := e.owns(conn, ev.Actor.ID)
				if err != nil {
					return err
				}
				if !owned {
					e.foreignEvents++
					continue
				}
				dirty[ev.Actor.ID] = true
				podsDirty = podsDirty || ev.Actor.Attributes["podId"] != ""
				e.lifecycle(ev)
			case "pod":
				podsDirty = true
			default:
				slowDirty = true
			}
			flush.Reset(100 * time.Millisecond)
		case <-flush.C:
			e.noteOOMCounter()
			for id := range dirty {
				if err := e.inspect(conn, id); err != nil {
					return err
				}
			}
			clear(dirty)
			if podsDirty {
				if err := e.listPods(conn); err != nil {
					return err
				}
				podsDirty = false
			}
			if slowDirty {
				if err := e.refreshSlow(conn); err != nil {
					return err
				}
				slowDirty = false
			}
			e.publish(true)
		case <-statsT.C:
			if err := e.refreshStats(conn); err != nil {
				return err
			}
			e.noteOOMCounter()
			e.publish(true)
		case <-slowT.C:
			if err := e.refreshSlow(conn); err != nil {
				return err
			}
			e.publish(true)
		case <-sizeC:
			if err := e.refreshSizes(conn); err != nil {
				return err
			}
			e.publish(true)
		case req := <-e.lookups:
			// A reader met a container before its events reached us: inspect it now.
			if _, known := e.containers[req.id]; !known {
				if err := e.inspect(conn, req.id); err != nil {
					close(req.done)
					return err
				}
				e.publish(true)
			}
			close(req.done)
		}
	}
}

// apiError sorts an error: nil when the service answered with an error status (counted
// under what, and the session goes on), the error itself when the connection failed.
func (e *Engine) apiError(what string, err error) error {
	if err == nil {
		return nil
	}
	var em *errorhandling.ErrorModel
	if errors.As(err, &em) {
		e.errs[what]++
		e.opts.Logger.Debug("podman API call failed", "podman_service", e.service, "call", what, "err", err)
		return nil
	}
	e.errs[what]++
	return fmt.Errorf("%s: %w", what, err)
}

func isNotFound(err error) bool {
	var em *errorhandling.ErrorModel
	return errors.As(err, &em) && em.ResponseCode == http.StatusNotFound
}

// relist replaces all container and pod state: after a reconnect nothing from before
// can be trusted.
func (e *Engine) relist(conn context.Context) error {
	all := true
	list, err := containers.List(conn, &containers.ListOptions{All: &all})
	if err != nil {
		return e.apiError("list_containers", err)
	}
	seen := map[string]bool{}
	for _, lc := range list {
		seen[lc.ID] = true
		if err := e.inspect(conn, lc.ID); err != nil {
			return err
		}
	}
	for id := range e.containers {
		if !seen[id] {
			e.forget(id)
		}
	}
	return e.listPods(conn)
}

// firstSight says whether the event is new: a subscription that resumes at the last
// event's time replays the events of that same instant.
func (e *Engine) firstSight(ev types.Event) bool {
	key := string(ev.Type) + "/" + string(ev.Action) + "/" + ev.Actor.ID
	switch {
	case ev.TimeNano < e.lastEventNano:
		return false
	case ev.TimeNano == e.lastEventNano:
		if e.lastEventKeys[key] {
			return false
		}
	default:
		e.lastEventNano = ev.TimeNano
		clear(e.lastEventKeys)
	}
	e.lastEventKeys[key] = true
	return true
}

// owns says whether the container is this service's: known, removed by it lately, or
// found by inspecting it now, at its first event, while it most likely still exists.
// A container removed before its first event arrived cannot be told from another
// service's and is left out (counted in foreignEvents).
func (e *Engine) owns(conn context.Context, id string) (bool, error) {
	if _, ok := e.containers[id]; ok {
		return true, nil
	}
	if _, ok := e.gone[id]; ok {
		return true, nil
	}
	if e.foreign[id] {
		return false, nil
	}
	if err := e.inspect(conn, id); err != nil {
		return false, err
	}
	if _, ok := e.containers[id]; ok {
		return true, nil
	}
	if len(e.foreign) >= maxRemembered {
		clear(e.foreign)
	}
	e.foreign[id] = true
	return false, nil
}

// maxRemembered bounds the gone and foreign sets; clearing them costs at most one
// inspect per container that has events afterwards.
const maxRemembered = 4096

func (e *Engine) forget(id string) {
	if c, ok := e.containers[id]; ok {
		if len(e.gone) >= maxRemembered {
			clear(e.gone)
		}
		e.gone[id] = c
	}
	delete(e.containers, id)
	delete(e.healthChecks, id)
	delete(e.lastCheck, id)
	delete(e.sizes, id)
	delete(e.oomKilled, id)
}

// inspect refreshes one container; a 404 means it is gone.
func (e *Engine) inspect(conn context.Context, id string) error {
	data, err := containers.Inspect(conn, id, nil)
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
		ImageID:      shortID(data.Image),
		PodID:        shortID(data.Pod),
		State:        data.State.Status,
		Created:      data.Created,
		Started:      data.State.StartedAt,
		Finished:     data.State.FinishedAt,
		ExitCode:     data.State.ExitCode,
		RestartCount: data.RestartCount,
		OOMKilled:    data.State.OOMKilled,
		Pid:          data.State.Pid,
		CgroupPath:   data.State.CgroupPath,
		RWSize:       -1,
		RootFSSize:   -1,
	}
	if data.Config != nil {
		c.Labels = data.Config.Labels
		c.SystemdUnit = data.Config.Labels["PODMAN_SYSTEMD_UNIT"]
	}
	if data.HostConfig != nil {
		c.NetworkMode = data.HostConfig.NetworkMode
		c.Ports = formatPorts(data.HostConfig.PortBindings)
	}
	if h := data.State.Health; h != nil && h.Status != "" {
		c.Health = Health{Status: h.Status, FailingStreak: h.FailingStreak}
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
	if known && c.State == "running" {
		c.Stats = old.Stats // keep counters until the next poll
	}
	e.detectOOM(c)
	if e.opts.OnEvent != nil && known {
		if c.OOMKilled && !old.OOMKilled {
			e.opts.OnEvent(LifecycleEvent{Time: c.Finished, Action: "oom", Service: e.service, Container: *c, ExitCode: int(c.ExitCode)})
		}
		if c.Health.Status != "" && c.Health.Status != old.Health.Status {
			e.opts.OnEvent(LifecycleEvent{Time: time.Now(), Action: "health_status", Service: e.service, Container: *c, Health: c.Health.Status})
		}
	}
	if sz, ok := e.sizes[c.ID]; ok {
		c.RWSize, c.RootFSSize = sz[0], sz[1]
	}
	e.containers[c.ID] = c
	return nil
}

func (e *Engine) listPods(conn context.Context) error {
	list, err := pods.List(conn, nil)
	if err != nil {
		return e.apiError("list_pods", err)
	}
	ps := make([]Pod, 0, len(list))
	for _, p := range list {
		ps = append(ps, Pod{
			ID: shortID(p.Id), Name: p.Name, InfraID: shortID(p.InfraId), State: p.Status,
			Created: p.Created, Containers: len(p.Containers),
		})
	}
	e.pods = ps
	return nil
}

// refreshSlow re-lists what changes rarely and costs most: system info, images,
// volumes, networks.
func (e *Engine) refreshSlow(conn context.Context) error {
	if info, err := system.Info(conn, nil); err != nil {
		if err := e.apiError("info", err); err != nil {
			return err
		}
	} else {
		e.system = System{
			APIVersion:     info.Version.APIVersion,
			BuildahVersion: info.Host.BuildahVersion,
			ConmonVersion:  info.Host.Conmon.Version,
			RuntimeVersion: info.Host.OCIRuntime.Version,
		}
	}
	if list, err := images.List(conn, nil); err != nil {
		if err := e.apiError("list_images", err); err != nil {
			return err
		}
	} else {
		var imgs []Image
		for _, im := range list {
			base := Image{ID: shortID(im.ID), ParentID: shortID(im.ParentId), Digest: im.Digest, Created: time.Unix(im.Created, 0), Size: im.Size}
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
	if list, err := volumes.List(conn, nil); err != nil {
		if err := e.apiError("list_volumes", err); err != nil {
			return err
		}
	} else {
		vs := make([]Volume, 0, len(list))
		for _, v := range list {
			vs = append(vs, Volume{Name: v.Name, Driver: v.Driver, MountPoint: v.Mountpoint, Created: v.CreatedAt})
		}
		e.volumes = vs
	}
	if list, err := network.List(conn, nil); err != nil {
		if err := e.apiError("list_networks", err); err != nil {
			return err
		}
	} else {
		ns := make([]Network, 0, len(list))
		for _, n := range list {
			ns = append(ns, Network{ID: shortID(n.ID), Name: n.Name, Driver: n.Driver, Interface: n.NetworkInterface, Labels: formatLabels(n.Labels)})
		}
		e.networks = ns
	}
	return nil
}

// refreshSizes asks for root filesystem sizes, which makes Podman walk every
// container's layer: done on its own slow interval.
func (e *Engine) refreshSizes(conn context.Context) error {
	all, size := true, true
	list, err := containers.List(conn, &containers.ListOptions{All: &all, Size: &size})
	if err != nil {
		return e.apiError("list_containers_size", err)
	}
	for _, lc := range list {
		if lc.Size == nil {
			continue
		}
		e.sizes[lc.ID] = [2]int64{lc.Size.RwSize, lc.Size.RootFsSize}
		if c, ok := e.containers[lc.ID]; ok {
			c.RWSize, c.RootFSSize = lc.Size.RwSize, lc.Size.RootFsSize
		}
	}
	return nil
}

// refreshStats makes one stats call for all running containers and adds what the API
// lacks: memory detail from the cgroup and network counters from the container's
// network namespace when the API has none (Podman 4.x sends no per-interface map).
func (e *Engine) refreshStats(conn context.Context) error {
	var ids []string
	for id, c := range e.containers {
		if c.State == "running" && e.statsBroken[id] == nil {
			ids = append(ids, id)
		}
	}
	for id := range e.statsBroken {
		if c, ok := e.containers[id]; !ok || c.State != "running" {
			delete(e.statsBroken, id)
		}
	}
	wasBroken := len(e.statsBroken)
	var all []define.ContainerStats
	if len(ids) > 0 {
		got, failed, err := e.stats(conn, ids)
		if err != nil {
			return err
		}
		if failed == nil {
			all = got
		} else {
			// One container spoils the call for all: find it by asking each alone.
			for _, id := range ids {
				got, failed, err := e.stats(conn, []string{id})
				if err != nil {
					return err
				}
				if failed != nil {
					e.statsBroken[id] = failed
					continue
				}
				all = append(all, got...)
			}
		}
	}
	for id := range e.statsBroken {
		if slices.Contains(ids, id) {
			continue // asked just now
		}
		got, failed, err := e.stats(conn, []string{id})
		if err != nil {
			return err
		}
		if failed == nil {
			delete(e.statsBroken, id)
			all = append(all, got...)
		}
	}
	switch {
	case wasBroken == 0 && len(e.statsBroken) > 0:
		id := slices.Min(slices.Collect(maps.Keys(e.statsBroken)))
		e.opts.Logger.Warn("podman cannot give stats for some running containers; their resource metrics are missing until it can (counted in podexporter_podman_errors_total{call=\"stats\"})",
			"podman_service", e.service, "containers", len(e.statsBroken), "example", e.containers[id].Name, "err", e.statsBroken[id])
	case wasBroken > 0 && len(e.statsBroken) == 0:
		e.opts.Logger.Info("podman gives stats for every running container again", "podman_service", e.service)
	}
	e.applyStats(all)
	return nil
}

// stats asks for the given containers' stats. failed is Podman's refusal (counted);
// err is a broken connection, which ends the session.
func (e *Engine) stats(conn context.Context, ids []string) (_ []define.ContainerStats, failed, err error) {
	stream := false
	ch, err := containers.Stats(conn, ids, &containers.StatsOptions{Stream: &stream})
	if err != nil {
		if err := e.apiError("stats", err); err != nil {
			return nil, nil, err
		}
		return nil, errors.New("refused"), nil
	}
	report, ok := <-ch
	for range ch {
	}
	if !ok {
		e.errs["stats"]++
		return nil, errors.New("no report"), nil
	}
	if report.Error != nil {
		e.errs["stats"]++
		return nil, report.Error, nil
	}
	return report.Stats, nil, nil
}

// applyStats turns one round of stats into each container's Stats.
func (e *Engine) applyStats(report []define.ContainerStats) {
	now := time.Now()
	for _, st := range report {
		c, ok := e.containers[st.ContainerID]
		if !ok {
			continue
		}
		s := &Stats{
			Time:         now,
			CPUTotal:     time.Duration(st.CPUNano),
			CPUSystem:    time.Duration(st.CPUSystemNano),
			MemUsage:     st.MemUsage,
			MemLimit:     st.MemLimit,
			PIDs:         st.PIDs,
			BlockRead:    st.BlockInput,
			BlockWritten: st.BlockOutput,
		}
		if e.opts.Cgroups != nil && c.CgroupPath != "" {
			if m, err := e.opts.Cgroups.ReadMemory(c.CgroupPath); err == nil {
				ws := s.MemUsage
				if m.InactiveFile < ws {
					ws -= m.InactiveFile
				}
				s.Memory = &MemoryDetail{RSS: m.RSS, Cache: m.Cache, WorkingSet: ws}
			}
		}
		if !c.HostNetwork() {
			s.Network = apiNetwork(st.Network)
			if s.Network == nil && c.Pid > 0 {
				if n, err := ReadNetDev(fmt.Sprintf("%s/%d/net/dev", e.opts.ProcRoot, c.Pid)); err == nil {
					s.Network = n
				}
			}
		}
		if e.opts.NetCounters != nil {
			if n, ok := e.opts.NetCounters.Container(c.ID); ok {
				// eBPF counts bytes and packets only; errors and drops stay the
				// interfaces' when the container has interfaces of its own.
				if d := s.Network; d != nil {
					n.RxErrors, n.RxDropped, n.TxErrors, n.TxDropped = d.RxErrors, d.RxDropped, d.TxErrors, d.TxDropped
				}
				s.Network = n
			}
		}
		c.Stats = s
	}
}

// oomReading is the kernel's OOM kill count at one moment.
type oomReading struct {
	at    time.Time
	count uint64
}

// lifecycleActions are the event actions passed on to OnEvent as they arrive;
// health_status and oom are derived from inspect instead (see inspect).
var lifecycleActions = map[string]bool{"start": true, "died": true, "stop": true, "pause": true, "unpause": true, "restart": true, "remove": true}

func (e *Engine) lifecycle(ev types.Event) {
	if e.opts.OnEvent == nil || !lifecycleActions[string(ev.Action)] {
		return
	}
	c := Container{ID: ev.Actor.ID, Name: ev.Actor.Attributes["name"], Image: ev.Actor.Attributes["image"]}
	if known, ok := e.containers[ev.Actor.ID]; ok {
		c = *known
	} else if gone, ok := e.gone[ev.Actor.ID]; ok {
		c = *gone
	}
	le := LifecycleEvent{Time: time.Unix(0, ev.TimeNano), Action: string(ev.Action), Service: e.service, Container: c}
	if le.Action == "died" {
		fmt.Sscan(ev.Actor.Attributes["containerExitCode"], &le.ExitCode)
	}
	e.opts.OnEvent(le)
}

// detectOOM fills in OOMKilled where Podman misses it: on hosts with cgroup v1 memory
// (hybrid layouts) conmon does not notice memcg OOM kills, and the container's cgroup,
// whose oom_kill counter would say so, is gone by the time its death is reported.
// Best is the kernel's own log line naming the container's cgroup (OOMLog). Without
// access to it: a container that died of SIGKILL (137) while the kernel's oom_kill
// counter moved between a reading taken before it finished and now was OOM-killed;
// another OOM kill on the host in that window could mislabel a plain SIGKILL, and a
// reading taken between the kill and Podman recording the exit hides it. Podman's own
// flag wins when it is set.
func (e *Engine) detectOOM(c *Container) {
	switch {
	case c.State == "running" || c.State == "created" || c.State == "initialized":
		delete(e.oomKilled, c.ID)
		e.opts.OOMLog.ForgetBefore(c.ID, c.Started)
	case c.OOMKilled || e.oomKilled[c.ID]:
	case e.opts.OOMLog.Killed(c.ID):
		// Whatever the exit code: the kernel may have killed a child, not the
		// container's main process, which Podman also reports as OOMKilled.
		e.oomKilled[c.ID] = true
	case c.ExitCode != 137 || c.Finished.IsZero():
	default:
		var before *oomReading
		for i := range e.oomSeen {
			if e.oomSeen[i].at.Before(c.Finished) {
				before = &e.oomSeen[i]
			}
		}
		now, err := readOOMCounter(e.opts.ProcRoot)
		if before != nil && err == nil && now > before.count {
			e.oomKilled[c.ID] = true
		}
	}
	c.OOMKilled = c.OOMKilled || e.oomKilled[c.ID]
}

// noteOOMCounter records the kernel's OOM kill count for detectOOM, keeping the last
// few readings so that a poll between a kill and its event does not hide it.
func (e *Engine) noteOOMCounter() {
	n, err := readOOMCounter(e.opts.ProcRoot)
	if err != nil {
		return
	}
	e.oomSeen = append(e.oomSeen, oomReading{at: time.Now(), count: n})
	if len(e.oomSeen) > 16 {
		e.oomSeen = e.oomSeen[1:]
	}
}

// publish builds an immutable snapshot from the engine's state and swaps it in.
func (e *Engine) publish(up bool) {
	// The kernel's OOM line can be read after the container's death was inspected.
	for _, c := range e.containers {
		if !c.OOMKilled && c.State != "running" && e.opts.OOMLog.Killed(c.ID) {
			c.OOMKilled, e.oomKilled[c.ID] = true, true
			if e.opts.OnEvent != nil {
				e.opts.OnEvent(LifecycleEvent{Time: c.Finished, Action: "oom", Service: e.service, Container: *c, ExitCode: int(c.ExitCode)})
			}
		}
	}
	e.updated = time.Now()
	s := &Snapshot{
		Service:       e.service,
		URI:           e.opts.URI,
		Up:            up,
		Updated:       e.updated,
		Reconnects:    e.reconnects,
		ForeignEvents: e.foreignEvents,
		APIRequests:   e.requestCounts(),
		Errors:        cloneCounts(e.errs),
		Pods:          e.pods,
		Images:        e.images,
		Volumes:       e.volumes,
		Networks:      e.networks,
		System:        e.system,
		HealthChecks:  map[string]map[string]uint64{},
	}
	cs := make([]Container, 0, len(e.containers))
	for _, c := range e.containers {
		cs = append(cs, *c)
	}
	// Newest first, so a cap keeps what operators are most likely looking at.
	sort.Slice(cs, func(i, j int) bool {
		if !cs[i].Created.Equal(cs[j].Created) {
			return cs[i].Created.After(cs[j].Created)
		}
		return cs[i].ID < cs[j].ID
	})
	if max := e.opts.MaxContainers; max > 0 && len(cs) > max {
		e.dropped += uint64(len(cs) - max)
		cs = cs[:max]
	}
	podNames := map[string]string{}
	for _, p := range e.pods {
		podNames[p.ID] = p.Name
	}
	for i := range cs {
		cs[i].PodName = podNames[cs[i].PodID]
		if hc := e.healthChecks[cs[i].ID]; hc != nil {
			s.HealthChecks[cs[i].ID] = cloneCounts(hc)
		}
	}
	s.Containers = cs
	s.ContainersDropped = e.dropped
	s.buildIndex()
	e.snap.Store(s)
}

func (e *Engine) count(endpoint string) {
	e.reqMu.Lock()
	e.requests[endpoint]++
	e.reqMu.Unlock()
}

func (e *Engine) requestCounts() map[string]uint64 {
	e.reqMu.Lock()
	defer e.reqMu.Unlock()
	return cloneCounts(e.requests)
}

// countingTransport counts API calls by endpoint, for podexporter_podman_api_requests_total:
// the proof that scrapes cause no API load.
type countingTransport struct {
	next  http.RoundTripper
	count func(string)
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.count(endpoint(r.URL))
	return t.next.RoundTrip(r)
}

var versionPrefix = regexp.MustCompile(`^/v[0-9.]+/`)

// endpoint reduces a request path to a bounded label value: ids become {id}.
func endpoint(u *url.URL) string {
	p := versionPrefix.ReplaceAllString(u.Path, "/")
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) >= 4 && parts[0] == "libpod" {
		parts[2] = "{id}" // libpod/containers/{id}/json and the like
	}
	return strings.Join(parts, "/")
}

func cloneCounts(m map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// shortID is the 12-character id form prometheus-podman-exporter uses in labels.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

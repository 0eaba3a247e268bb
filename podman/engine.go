package podman

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podexporter/podexporter/internal/cgroupfs"
	"github.com/podexporter/podexporter/internal/selector"
	"github.com/podexporter/podexporter/podman/podmanconf"
)

// Options configures one Engine.
type Options struct {
	URI string
	// StatsInterval is how often one stats call covers all running containers.
	StatsInterval time.Duration
	// SlowInterval is how often system info, images, volumes and networks are re-listed
	// besides the refreshes their own events trigger.
	SlowInterval time.Duration
	// SizeInterval is how often Podman measures container layers, images and
	// volumes (storage_df.go), the most expensive call it has; 0 turns it off.
	SizeInterval time.Duration
	// MaxContainers caps how many containers a snapshot holds; 0 means no cap.
	MaxContainers int
	// ProcRoot is where the host's /proc is, for the network namespace counters.
	ProcRoot string
	Cgroups  *cgroupfs.Mounts
	Logger   *slog.Logger
	// OOMLog, when set, says exactly which containers the kernel OOM-killed.
	OOMLog *OOMLog
	// Dial connects to the service; nil means the Podman bindings (DialBindings).
	Dial Dialer
	// Positions, when set, says where each service's event stream was acknowledged
	// before a restart: the first subscription resumes there.
	Positions *EventPositions
	// OnEvent, when set, is called with each container lifecycle event, from the
	// engine's goroutine: it must not block.
	OnEvent func(LifecycleEvent)
	// NetCounters, when set, gives network counters that take precedence over the
	// API's and /proc/PID/net/dev (eBPF); nil when off.
	NetCounters NetCounters
	// LabelKeys are the allowlisted container labels every output shows (or
	// podmanconf.AllLabels alone for all of them), PodLabelKeys and ImageLabelKeys
	// those of pods and images, and LabelValueMax the most bytes of a value they show
	// (0: the setting's default).
	LabelKeys      []string
	PodLabelKeys   []string
	ImageLabelKeys []string
	LabelValueMax  int
	// Select says which containers the metrics show; the others stay in the
	// snapshot, marked Excluded, and cost no stats, cgroup or /proc reads. nil
	// selects every container.
	Select *selector.Selector
}

// OptionsFrom is the engines' configuration for settings that passed
// podmanconf.Settings.Validate. The sockets go to NewSource, one engine each; what only
// the wiring knows (cgroup mounts, logger, event callback and positions, eBPF counters)
// the caller adds.
func OptionsFrom(s podmanconf.Settings) Options {
	containers, pods, images, _ := s.Allowlists() // validated: no error
	sel, _ := s.Selector()
	return Options{
		StatsInterval:  s.StatsInterval,
		SlowInterval:   s.SlowInterval,
		SizeInterval:   s.SizeInterval,
		MaxContainers:  s.MaxContainers,
		ProcRoot:       s.ProcRoot,
		LabelKeys:      containers.ExportKeys(),
		PodLabelKeys:   pods.ExportKeys(),
		ImageLabelKeys: images.ExportKeys(),
		LabelValueMax:  s.LabelValueMaxLength,
		Select:         sel,
	}
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
	storage      storageState
	// oomKilled remembers kernel OOM kills Podman missed (see detectOOM).
	oomKilled map[string]bool
	oomSeen   []oomReading
	// statsBroken holds running containers Podman cannot give stats for (one left
	// "running" by a crash, whose cgroup is gone, say). Podman fails a stats call
	// for all containers when one of them fails, so these are asked for one by one,
	// outside the shared call, until they answer again or stop running.
	statsBroken map[string]error
	// statsWarned says the missing stats were logged and their return not yet.
	statsWarned bool
	reconnects  uint64
	// open are the files the stats rounds keep open between rounds (cgroup.go).
	open openSet
	// Events are taken only for containers this service has. Podman before 4.4 reads
	// events from the one journal without matching its user, so a rootless service
	// whose user may read the journal reports the rootful service's events as its
	// own (and the rootful one a rootless user's). gone keeps the containers this
	// service removed, so their last events still resolve; foreign the ids it does
	// not have, so their events cost one inspect, not one each.
	gone          *recent[string, *Container]
	foreign       *recent[string, struct{}]
	foreignEvents uint64
	// lastEventNano is the newest event seen, seenEvents the events seen near it: a
	// new subscription after a reconnect starts there (Podman replays what happened
	// meanwhile) and drops what it had already seen.
	lastEventNano int64
	seenEvents    *recent[eventKey, struct{}]
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
	if o.Dial == nil {
		o.Dial = DialBindings
	}
	e := &Engine{
		opts:         o,
		service:      ServiceName(o.URI),
		containers:   map[string]*Container{},
		healthChecks: map[string]map[string]uint64{},
		lastCheck:    map[string]time.Time{},
		sizes:        map[string][2]int64{},
		oomKilled:    map[string]bool{},
		statsBroken:  map[string]error{},
		gone:         newRecent[string, *Container](int64(rememberFor), maxRemembered),
		foreign:      newRecent[string, struct{}](int64(rememberFor), maxRemembered),
		seenEvents:   newRecent[eventKey, struct{}](int64(seenEventsWindow), maxSeenEvents),
		errs:         map[string]uint64{},
		requests:     map[string]uint64{},
		lookups:      make(chan lookupReq),
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

package bpf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/podexporter/podexporter/bpf/bpfconf"
)

// Options configures the eBPF source.
type Options struct {
	// Cgroup2 is the cgroup2 mount to attach at; empty means the one in
	// /proc/self/mountinfo.
	Cgroup2 string
	// Extras turns on TCP retransmit and packet drop counting from tracepoints.
	Extras bool
	// MaxAge is how old a reading of the map may be when a container's counters are
	// asked for; older ones are read again. Default 1s.
	MaxAge time.Duration
	// GCInterval is how often Run removes the entries of vanished cgroups even when
	// nobody asks for counters. Default 30s.
	GCInterval time.Duration
	Logger     *slog.Logger
}

// OptionsFrom is the source's configuration for settings that passed
// bpfconf.Settings.Validate; the caller adds the logger. Enable is not carried: it
// decides whether the source is built at all.
func OptionsFrom(s bpfconf.Settings) Options {
	return Options{Extras: s.Extras}
}

// Source is the optional eBPF network counting. When anything needed is missing it is
// a disabled source: it logs why once, reports Enabled false, and answers no counters,
// so the rest of podexporter runs as without it. It produces plain values only.
type Source struct {
	opts Options

	mu       sync.Mutex
	counter  *Counter
	extras   *Extras
	stats    io.Closer
	res      *Resolver
	readAt   time.Time
	walkedAt time.Time
	// byContainer holds the last reading folded per container; retired the final
	// counts of a live container's sub-cgroups that have gone, so its totals never
	// go down when one of them is removed.
	byContainer map[string]Counters
	retired     map[string]Counters
	// extras folded per container, when the extras run.
	retransmits map[string]uint64
	drops       map[string]map[string]uint64
	// lastOwner remembers whose each map entry was, for when its cgroup vanishes.
	lastOwner map[uint64]string
	problem   string
}

// NewSource loads and attaches the programs at once, so counting starts before the
// first stats poll reads them. It never fails: a problem disables the source, and is
// logged once with the missing capability or setting.
func NewSource(o Options) *Source {
	if o.MaxAge <= 0 {
		o.MaxAge = time.Second
	}
	if o.GCInterval <= 0 {
		o.GCInterval = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Source{opts: o, byContainer: map[string]Counters{}, retired: map[string]Counters{}, lastOwner: map[uint64]string{}}
	if err := s.start(); err != nil {
		s.problem = err.Error()
		o.Logger.Warn("eBPF network counters are off; container network counters come from /proc/PID/net/dev", "err", err)
		return s
	}
	o.Logger.Info("eBPF network counters attached", "cgroup2", s.opts.Cgroup2, "extras", s.extras != nil)
	return s
}

func (s *Source) start() error {
	if p := capabilityProblems(); len(p) > 0 {
		return errors.New(strings.Join(p, "; "))
	}
	if s.opts.Cgroup2 == "" {
		root, err := cgroup2Mount("/proc/self/mountinfo")
		if err != nil {
			return fmt.Errorf("no cgroup2 hierarchy to attach to (mount one: mount -t cgroup2 none /sys/fs/cgroup): %w", err)
		}
		s.opts.Cgroup2 = root
	}
	s.res = NewResolver(s.opts.Cgroup2)
	if err := s.res.Walk(); err != nil {
		return fmt.Errorf("read the cgroup2 tree: %w", err)
	}
	c, err := Attach(s.opts.Cgroup2)
	if err != nil {
		return err
	}
	s.counter = c
	// Run time statistics cost two clock reads per program run, for every BPF program
	// on the host, and stay on only while this descriptor is open.
	if st, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME)); err == nil {
		s.stats = st
	} else {
		s.opts.Logger.Info("BPF run time statistics unavailable; podexporter_ebpf_program_run_seconds_total stays 0", "err", err)
	}
	if s.opts.Extras {
		x, err := AttachExtras()
		if err != nil {
			s.opts.Logger.Warn("eBPF extras (TCP retransmits, drops) are off; the byte and packet counters still run", "err", err)
		} else {
			s.extras = x
		}
	}
	return nil
}

// Enabled says whether the programs are attached.
func (s *Source) Enabled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counter != nil
}

// Problem says why the source is disabled; empty when it is not.
func (s *Source) Problem() string { return s.problem }

// Run owns the attached programs: it removes the entries of vanished cgroups now and
// then and detaches everything when ctx ends.
func (s *Source) Run(ctx context.Context, started func()) error {
	started()
	if !s.Enabled() {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(s.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return s.Close()
		case <-t.C:
			s.mu.Lock()
			s.refreshLocked(true)
			s.mu.Unlock()
		}
	}
}

// Close detaches and frees the programs; the source is disabled afterwards.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.counter != nil {
		err = s.counter.Close()
		s.counter = nil
	}
	if s.extras != nil {
		s.extras.Close()
		s.extras = nil
	}
	if s.stats != nil {
		s.stats.Close()
		s.stats = nil
	}
	return err
}

// Container returns a container's counters since the programs were attached. ok is
// true for every container whose cgroup exists while the source is enabled, even
// before it sent anything, so that a container's counters never switch source.
func (s *Source) Container(fullID string) (Counters, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counter == nil {
		return Counters{}, false
	}
	s.refreshLocked(false)
	if c, ok := s.byContainer[fullID]; ok {
		return c, true
	}
	if _, ok := s.res.ContainerCgroup(fullID); !ok {
		s.walkLocked()
	}
	_, ok := s.res.ContainerCgroup(fullID)
	return Counters{}, ok
}

// walkLocked walks the cgroup tree at most once per MaxAge: a container without a
// cgroup here (on a remote Podman service) must not cost a walk per question.
func (s *Source) walkLocked() {
	if time.Since(s.walkedAt) < s.opts.MaxAge {
		return
	}
	s.walkedAt = time.Now()
	if err := s.res.Walk(); err != nil {
		s.opts.Logger.Debug("walking the cgroup2 tree failed", "err", err)
	}
}

// refreshLocked reads the map, folds entries into containers, and deletes the entries
// of cgroups that no longer exist.
func (s *Source) refreshLocked(force bool) {
	if !force && time.Since(s.readAt) < s.opts.MaxAge {
		return
	}
	m, err := s.counter.Read()
	if err != nil {
		s.opts.Logger.Debug("reading eBPF counters failed", "err", err)
		return
	}
	s.readAt = time.Now()
	// An id the last walk did not see is new or gone; only a walk after the read
	// tells which, and an entry is deleted only when that walk succeeded.
	walked := true
	for id := range m {
		if _, ok := s.res.Known(id); !ok && id != 0 {
			s.walkedAt = time.Now()
			if err := s.res.Walk(); err != nil {
				s.opts.Logger.Debug("walking the cgroup2 tree failed", "err", err)
				walked = false
			}
			break
		}
	}
	byContainer := map[string]Counters{}
	var gone []uint64
	for id, c := range m {
		owner, ok := s.res.Known(id)
		if !ok && !walked {
			continue
		}
		if !ok {
			// Vanished (or id 0, traffic without a socket cgroup). A removed
			// sub-cgroup's last counts stay with its container while that lives.
			if prev := s.lastOwner[id]; prev != "" {
				if _, live := s.res.ContainerCgroup(prev); live {
					s.retired[prev] = s.retired[prev].Add(c)
				}
			}
			delete(s.lastOwner, id)
			gone = append(gone, id)
			continue
		}
		s.lastOwner[id] = owner
		if owner != "" {
			byContainer[owner] = byContainer[owner].Add(c)
		}
	}
	for ctr, r := range s.retired {
		if _, live := s.res.ContainerCgroup(ctr); !live {
			delete(s.retired, ctr)
			continue
		}
		byContainer[ctr] = byContainer[ctr].Add(r)
	}
	s.byContainer = byContainer
	if err := s.counter.Delete(gone); err != nil {
		s.opts.Logger.Debug("deleting eBPF entries of vanished cgroups failed", "err", err)
	}
	if s.extras != nil {
		s.refreshExtrasLocked()
	}
}

// refreshExtrasLocked folds retransmits and drops per container and deletes the
// entries of vanished cgroups. Drops outside any container's sockets (no socket, or
// host processes) are not reported.
func (s *Source) refreshExtrasLocked() {
	gone := map[uint64]bool{}
	retransmits := map[string]uint64{}
	if r, err := s.extras.Retransmits(); err == nil {
		for id, n := range r {
			owner, ok := s.res.Known(id)
			if !ok {
				gone[id] = id != 0
				continue
			}
			if owner != "" {
				retransmits[owner] += n
			}
		}
	}
	drops := map[string]map[string]uint64{}
	if d, err := s.extras.Drops(); err == nil {
		for k, n := range d {
			owner, ok := s.res.Known(k.Cgroup)
			if !ok {
				gone[k.Cgroup] = k.Cgroup != 0
				continue
			}
			if owner == "" {
				continue
			}
			if drops[owner] == nil {
				drops[owner] = map[string]uint64{}
			}
			drops[owner][k.Reason] += n
		}
	}
	s.retransmits, s.drops = retransmits, drops
	s.extras.DeleteCgroups(gone)
}

// ExtrasEnabled says whether the retransmit and drop programs are attached.
func (s *Source) ExtrasEnabled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.extras != nil
}

// ContainerExtras returns a container's TCP retransmits and dropped packets by reason;
// ok is false when the extras are off.
func (s *Source) ContainerExtras(fullID string) (retransmits uint64, drops map[string]uint64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.extras == nil {
		return 0, nil, false
	}
	s.refreshLocked(false)
	return s.retransmits[fullID], s.drops[fullID], true
}

// ProgramStats returns the kernel's run count and run time of the programs.
func (s *Source) ProgramStats() []ProgramStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counter == nil {
		return nil
	}
	st, err := s.counter.Stats()
	if err != nil {
		return nil
	}
	if s.extras != nil {
		st = append(st, s.extras.Stats()...)
	}
	return st
}

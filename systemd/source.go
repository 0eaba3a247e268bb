package systemd

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/podexporter/podexporter/systemd/systemdconf"
)

// Options configures the source.
type Options struct {
	// UserManagers also watches the user managers found under RuntimeDir.
	UserManagers bool
	// RuntimeDir holds the users' runtime directories (/run/user).
	RuntimeDir string
	// ResyncInterval is how often everything is read again and new user managers are
	// looked for.
	ResyncInterval time.Duration
	// SystemEndpoints overrides where the system manager is reached (tests).
	SystemEndpoints []string
	// OnEvent receives unit lifecycle events, from the watch goroutines; it must not
	// block for long.
	OnEvent func(UnitEvent)
	// Reason finds what the Quadlet generator said about a file that produced no unit
	// (uid -1 for the system's files), "" when it cannot tell. Optional.
	Reason func(ctx context.Context, uid int, path string) string
	Logger *slog.Logger

	// dial connects to a manager; dialBus unless a test replaces it.
	dial func(context.Context, []endpoint) (bus, error)
	// dirs are the Quadlet directories of a manager; searchDirs unless a test
	// replaces it.
	dirs func(uid int, home, runtimeDir string) []string
}

// OptionsFrom builds the source's options from validated settings.
func OptionsFrom(s systemdconf.Settings) Options {
	return Options{UserManagers: s.UserManagers, RuntimeDir: s.RuntimeDir, ResyncInterval: s.ResyncInterval}
}

// Source watches the system manager and the user managers.
type Source struct {
	opts Options

	mu      sync.Mutex
	watches map[string]*managed // by manager name
	names   []string            // sorted
}

type managed struct {
	w    *watch
	stop context.CancelFunc
	done chan struct{}
}

// NewSource makes a source; Run starts it.
func NewSource(o Options) *Source {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ResyncInterval <= 0 {
		o.ResyncInterval = 5 * time.Minute
	}
	if o.RuntimeDir == "" {
		o.RuntimeDir = "/run/user"
	}
	if o.dial == nil {
		o.dial = dialBus
	}
	if o.dirs == nil {
		o.dirs = searchDirs
	}
	return &Source{opts: o, watches: map[string]*managed{}}
}

// Snapshots returns the managers' current snapshots, system first. While nothing
// changes it returns the same pointers, which the scrape cache relies on.
func (s *Source) Snapshots() []*Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Snapshot, 0, len(s.names))
	for _, name := range s.names {
		out = append(out, s.watches[name].w.cur.Load())
	}
	return out
}

// Run watches the managers until ctx ends. started is called once the managers
// present at start have been tried (connected and read, or found unreachable).
func (s *Source) Run(ctx context.Context, started func()) error {
	defer s.stopAll()
	s.discover(ctx)
	s.waitTried(ctx, 5*time.Second)
	if started != nil {
		started()
	}
	t := time.NewTicker(s.opts.ResyncInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.discover(ctx)
		}
	}
}

// waitTried waits, at most d, until every watch has published a first result.
func (s *Source) waitTried(ctx context.Context, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		tried := true
		for _, snap := range s.Snapshots() {
			if !snap.Up && len(snap.Errors) == 0 {
				tried = false
			}
		}
		if tried {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// discover starts a watch for each manager that appeared and stops those of users
// whose runtime directory is gone (they logged out and have no linger).
func (s *Source) discover(ctx context.Context) {
	want := map[string]func() *watch{
		"system": func() *watch { return newWatch("system", -1, s.systemEndpoints(), &s.opts) },
	}
	if s.opts.UserManagers {
		for _, uid := range s.userIDs() {
			name := userManager(uid)
			want[name] = func() *watch { return newWatch(name, uid, s.userEndpoints(uid), &s.opts) }
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, m := range s.watches {
		if _, ok := want[name]; !ok {
			m.stop()
			<-m.done
			delete(s.watches, name)
		}
	}
	for name, mk := range want {
		if _, ok := s.watches[name]; ok {
			continue
		}
		wctx, stop := context.WithCancel(ctx)
		m := &managed{w: mk(), stop: stop, done: make(chan struct{})}
		go func() {
			defer close(m.done)
			m.w.run(wctx)
		}()
		s.watches[name] = m
	}
	s.names = s.names[:0]
	for name := range s.watches {
		s.names = append(s.names, name)
	}
	slices.SortFunc(s.names, func(a, b string) int {
		// The system manager first, then users by name.
		return cmp.Or(cmp.Compare(boolRank(a != "system"), boolRank(b != "system")), cmp.Compare(a, b))
	})
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// systemEndpoints: systemd's private socket first (root only, and needs no bus
// daemon), then the system bus.
func (s *Source) systemEndpoints() []endpoint {
	if len(s.opts.SystemEndpoints) > 0 {
		var eps []endpoint
		for _, p := range s.opts.SystemEndpoints {
			eps = append(eps, endpoint{path: p, private: filepath.Base(p) == "private"})
		}
		return eps
	}
	bus := "/run/dbus/system_bus_socket"
	if addr := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"); len(addr) > len("unix:path=") && addr[:len("unix:path=")] == "unix:path=" {
		bus = addr[len("unix:path="):]
	}
	return []endpoint{{path: "/run/systemd/private", private: true}, {path: bus}}
}

func userManager(uid int) string { return "user-" + strconv.Itoa(uid) }

// userEndpoints: the user manager's private socket (root and the user get in), then
// the user's bus.
func (s *Source) userEndpoints(uid int) []endpoint {
	dir := filepath.Join(s.opts.RuntimeDir, strconv.Itoa(uid))
	return []endpoint{{path: filepath.Join(dir, "systemd/private"), private: true}, {path: filepath.Join(dir, "bus")}}
}

// userIDs are the users with a running manager: a numeric runtime directory with
// systemd's private socket or a bus in it.
func (s *Source) userIDs() []int {
	entries, err := os.ReadDir(s.opts.RuntimeDir)
	if err != nil {
		return nil
	}
	var uids []int
	for _, e := range entries {
		uid, err := strconv.Atoi(e.Name())
		if err != nil || uid < 0 {
			continue
		}
		dir := filepath.Join(s.opts.RuntimeDir, e.Name())
		// A runtime directory we may not enter is a user's all the same (logind makes
		// them 0700): its manager is tried, and the refusal counted and explained.
		if present(filepath.Join(dir, "systemd/private")) || present(filepath.Join(dir, "bus")) {
			uids = append(uids, uid)
		}
	}
	return uids
}

// present says whether p exists, or may exist behind a directory we cannot search.
func present(p string) bool {
	_, err := os.Lstat(p)
	return err == nil || errors.Is(err, fs.ErrPermission)
}

func (s *Source) stopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.watches {
		m.stop()
		<-m.done
	}
}

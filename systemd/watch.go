package systemd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"
)

// coalesce is how long the watch gathers signals before reading the units they name:
// a unit's start sends a burst of PropertiesChanged, one read covers them all.
const coalesce = 100 * time.Millisecond

// errConnectionLost ends a connection's serve loop when systemd closed it.
var errConnectionLost = errors.New("connection lost")

// watch follows one systemd manager. Its goroutine (run) owns every field except
// cur, the last published snapshot.
type watch struct {
	manager   string
	uid       int // -1: the system manager
	endpoints []endpoint
	opts      *Options
	log       *slog.Logger

	cur atomic.Pointer[Snapshot]

	units      map[string]Unit
	orphans    []QuadletFile
	home, xdg  string // the user manager's HOME and XDG_RUNTIME_DIR
	up         bool
	connected  bool // a connection was made once: the next one is a reconnect
	reconnects uint64
	resyncs    map[string]uint64
	errs       map[string]uint64
	updated    time.Time
	downLogged bool
	told       map[string]bool // orphans and unreadable directories already logged
}

func newWatch(manager string, uid int, endpoints []endpoint, o *Options) *watch {
	w := &watch{manager: manager, uid: uid, endpoints: endpoints, opts: o, log: o.Logger.With("systemd_manager", manager),
		units: map[string]Unit{}, resyncs: map[string]uint64{}, errs: map[string]uint64{}, told: map[string]bool{}}
	w.publish()
	return w
}

// run connects, serves and reconnects until ctx ends. A refusal is retried only at
// the resync interval: nothing on our side changes it sooner.
func (w *watch) run(ctx context.Context) {
	wait := time.Second
	for ctx.Err() == nil {
		b, err := w.opts.dial(ctx, w.endpoints)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			retry := wait
			if errors.Is(err, errRefused) {
				w.errs["refused"]++
				retry = w.opts.ResyncInterval
			} else {
				w.errs["connect"]++
				wait = min(2*wait, 30*time.Second)
			}
			w.down(err)
			if !sleep(ctx, retry) {
				return
			}
			continue
		}
		wait = time.Second
		reason := "start"
		if w.connected {
			w.reconnects++
			reason = "reconnect"
		}
		w.connected = true
		err = w.serve(ctx, b, reason)
		b.close()
		if ctx.Err() != nil {
			return
		}
		w.down(err)
		if !sleep(ctx, 200*time.Millisecond) {
			return
		}
	}
}

// down publishes the manager as unreachable, keeping its last units, and logs the
// first time in a row.
func (w *watch) down(err error) {
	w.up = false
	w.publish()
	if !w.downLogged {
		w.downLogged = true
		if w.connected {
			w.log.Warn("lost the connection to the systemd manager; reconnecting", "err", err)
		} else if w.othersManager(err) {
			// Expected, not a fault: only root and the user may open a user manager,
			// so a podexporter run as another user (rootless, or a hardened native
			// unit) cannot watch it. Said once, quietly; podexporter_systemd_up says 0.
			w.log.Info("not watching another user's systemd manager: only root or that user may", "err", err, "fix", w.fix(err))
		} else {
			w.log.Warn("cannot watch the systemd manager's Quadlet units; podexporter_systemd_up is 0 until it can", "err", err, "fix", w.fix(err))
		}
	}
}

// othersManager says err is a user manager refusing a podexporter that runs as
// neither root nor that user.
func (w *watch) othersManager(err error) bool {
	euid := os.Geteuid()
	return errors.Is(err, errRefused) && w.uid >= 0 && euid != 0 && euid != w.uid
}

func (w *watch) fix(err error) string {
	switch {
	case errors.Is(err, errRefused) && w.uid >= 0:
		return fmt.Sprintf("run podexporter as root or as user %d to watch this user's units (podexporter doctor explains)", w.uid)
	case errors.Is(err, errRefused):
		return "run podexporter as root, or give it the system bus socket /run/dbus/system_bus_socket"
	default:
		return "no systemd here, or its socket is not mounted into podexporter's container (/run/systemd, /run/user, /run/dbus read-only)"
	}
}

// serve reads everything, then follows the manager's signals until the connection
// ends or ctx does.
func (w *watch) serve(ctx context.Context, b bus, reason string) error {
	if w.uid >= 0 {
		env, err := b.environment(ctx)
		if err != nil {
			return w.callFailed(err)
		}
		w.home, w.xdg = envValue(env, "HOME"), envValue(env, "XDG_RUNTIME_DIR")
	}
	if err := w.resync(ctx, b, reason, false); err != nil {
		return err
	}
	if w.downLogged {
		w.log.Info("watching the systemd manager's Quadlet units again", "units", len(w.units))
	}
	w.downLogged = false

	ticker := time.NewTicker(w.opts.ResyncInterval)
	defer ticker.Stop()
	var (
		dirty  = map[string]bool{}
		reload bool
		flush  <-chan time.Time
		timer  *time.Timer
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case s, ok := <-b.signals():
			if !ok {
				return errConnectionLost
			}
			switch {
			case s.reloaded:
				reload = true
			case s.removed:
				// Reading an unloaded unit loads it again, and systemd would unload it
				// again: the last state read stands.
				continue
			default:
				if _, tracked := w.units[s.unit]; !tracked {
					continue
				}
				dirty[s.unit] = true
			}
			if flush == nil {
				timer = time.NewTimer(coalesce)
				flush = timer.C
			}
		case <-flush:
			flush, timer = nil, nil
			var err error
			if reload {
				err = w.resync(ctx, b, "reload", true)
			} else {
				err = w.refresh(ctx, b, slices.Sorted(maps.Keys(dirty)))
			}
			reload = false
			clear(dirty)
			if err != nil {
				return err
			}
		case <-ticker.C:
			if err := w.resync(ctx, b, "interval", true); err != nil {
				return err
			}
		}
	}
}

// callFailed counts a failed call; a call that failed because the connection went
// away ends the connection, any other is retried by reconnecting as well, since the
// watch cannot know which of its state is still right.
func (w *watch) callFailed(err error) error {
	w.errs["call"]++
	return err
}

// resync reads every generated unit and scans the Quadlet directories. events says
// whether changes since the last read are told (not on the first read of a
// connection's life after start: there is no "before" then).
func (w *watch) resync(ctx context.Context, b bus, reason string, events bool) error {
	names, err := b.generatedUnits(ctx)
	if err != nil {
		return w.callFailed(err)
	}
	fresh := make(map[string]Unit, len(names))
	for _, name := range names {
		u, ok, err := b.unit(ctx, name)
		if err != nil {
			return w.callFailed(err)
		}
		if ok && u.Kind != "" {
			fresh[name] = u
		}
	}
	told := events || reason == "reconnect"
	for name, u := range fresh {
		if old, ok := w.units[name]; ok && told {
			w.tell(old, u)
		}
	}
	w.units = fresh
	w.resyncs[reason]++
	w.scan(ctx)
	w.up = true
	w.updated = time.Now()
	w.publish()
	return nil
}

// refresh reads the named units again after signals said they changed.
func (w *watch) refresh(ctx context.Context, b bus, names []string) error {
	for _, name := range names {
		u, ok, err := b.unit(ctx, name)
		if err != nil {
			return w.callFailed(err)
		}
		old, tracked := w.units[name]
		switch {
		case !ok || u.Kind == "":
			delete(w.units, name)
		default:
			if tracked {
				w.tell(old, u)
			}
			w.units[name] = u
		}
	}
	w.updated = time.Now()
	w.publish()
	return nil
}

// tell hands the lifecycle events between two reads of a unit to the callback.
func (w *watch) tell(old, u Unit) {
	if w.opts.OnEvent == nil {
		return
	}
	for _, e := range unitEvents(old, u) {
		e.Manager = w.manager
		w.opts.OnEvent(e)
	}
}

// scan finds the Quadlet files no unit came from.
func (w *watch) scan(ctx context.Context) {
	dirs := w.opts.dirs(w.uid, w.home, w.xdg)
	files, failed := scanQuadlet(w.uid, dirs, filepath.Join(unitDirAdmin, "users"))
	for _, dir := range failed {
		w.errs["scan"]++
		if !w.told["scan:"+dir] {
			w.told["scan:"+dir] = true
			w.log.Warn("cannot read a Quadlet directory; its files are not checked for units", "dir", dir, "fix", "mount it read-only into podexporter's container, or make it readable to podexporter's user")
		}
	}
	sources := map[string]bool{}
	for _, u := range w.units {
		sources[u.SourcePath] = true
		if real, err := filepath.EvalSymlinks(u.SourcePath); err == nil {
			sources[real] = true
		}
	}
	prev := map[string]QuadletFile{}
	for _, f := range w.orphans {
		prev[f.Path] = f
	}
	var orphans []QuadletFile
	for _, path := range files {
		if sources[path] {
			continue
		}
		if real, err := filepath.EvalSymlinks(path); err == nil && sources[real] {
			continue
		}
		f, seen := prev[path]
		if !seen {
			f = QuadletFile{Path: path, Kind: quadletKind(path)}
			if w.opts.Reason != nil {
				f.Reason = w.opts.Reason(ctx, w.uid, path)
			}
		}
		orphans = append(orphans, f)
		if !w.told["orphan:"+path] {
			w.told["orphan:"+path] = true
			reason := f.Reason
			if reason == "" {
				reason = "not found in the journal; /usr/libexec/podman/quadlet -dryrun (with -user for a user's files) prints it"
			}
			w.log.Warn("a Quadlet file produced no unit", "path", path, "generator_said", reason)
		}
	}
	// A file that has a unit again may fail again later: it is then told again.
	for path := range prev {
		if !slices.ContainsFunc(orphans, func(f QuadletFile) bool { return f.Path == path }) {
			delete(w.told, "orphan:"+path)
		}
	}
	w.orphans = orphans
}

func (w *watch) publish() {
	s := &Snapshot{
		Manager:    w.manager,
		UID:        w.uid,
		Up:         w.up,
		Updated:    w.updated,
		Reconnects: w.reconnects,
		Resyncs:    maps.Clone(w.resyncs),
		Errors:     maps.Clone(w.errs),
		Orphans:    slices.Clone(w.orphans),
	}
	for _, name := range slices.Sorted(maps.Keys(w.units)) {
		s.Units = append(s.Units, w.units[name])
	}
	s.buildIndex()
	w.cur.Store(s)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

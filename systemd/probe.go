package systemd

import (
	"context"
	"errors"
	"slices"
)

// ManagerStatus is what one look at a manager found, for podexporter doctor.
type ManagerStatus struct {
	Manager string
	UID     int
	// Err is why the manager could not be read; Refused says its socket or bus would
	// not let this process in (as opposed to no systemd, or nothing mounted).
	Err     error
	Refused bool
	Units   int
	Orphans []QuadletFile
	// Fix is the remedy for Err.
	Fix string
}

// Probe connects once to each manager the source would watch, reads its Quadlet
// units and files, and disconnects.
func Probe(ctx context.Context, o Options) []ManagerStatus {
	s := NewSource(o)
	type target struct {
		name string
		uid  int
		eps  []endpoint
	}
	targets := []target{{"system", -1, s.systemEndpoints()}}
	if s.opts.UserManagers {
		for _, uid := range s.userIDs() {
			targets = append(targets, target{userManager(uid), uid, s.userEndpoints(uid)})
		}
	}
	var out []ManagerStatus
	for _, t := range targets {
		w := newWatch(t.name, t.uid, t.eps, &s.opts)
		st := ManagerStatus{Manager: t.name, UID: t.uid}
		b, err := s.opts.dial(ctx, t.eps)
		if err == nil {
			err = w.readOnce(ctx, b)
			b.close()
		}
		if err != nil {
			st.Err, st.Refused, st.Fix = err, errors.Is(err, errRefused), w.fix(err)
		} else {
			snap := w.cur.Load()
			st.Units, st.Orphans = len(snap.Units), slices.Clone(snap.Orphans)
		}
		out = append(out, st)
	}
	return out
}

// readOnce reads the manager's environment, units and files once, without events.
func (w *watch) readOnce(ctx context.Context, b bus) error {
	if w.uid >= 0 {
		env, err := b.environment(ctx)
		if err != nil {
			return err
		}
		w.home, w.xdg = envValue(env, "HOME"), envValue(env, "XDG_RUNTIME_DIR")
	}
	return w.resync(ctx, b, "start", false)
}

// Package systemd is the service-layer source: it watches the system manager and the
// user managers of rootless Quadlet users over D-Bus and keeps one immutable Snapshot
// per manager of the units Quadlet generated, plus the Quadlet files that produced no
// unit. It is event-driven (systemd's PropertiesChanged, UnitNew, UnitRemoved and
// Reloading signals); a scrape reads the snapshot and never calls D-Bus. It produces
// plain values and knows nothing of Prometheus or OTLP.
package systemd

import "time"

// Snapshot is one systemd manager as last seen. It is never modified after it is
// published.
type Snapshot struct {
	// Manager names the manager for the systemd_manager label: "system", or
	// "user-UID" for a user's manager.
	Manager string
	// UID is the user manager's user, -1 for the system manager.
	UID int
	// Up says whether the connection to the manager works now.
	Up bool
	// Updated is when the units were last read.
	Updated time.Time
	// Reconnects counts connections made again after one was lost (daemon-reexec, a
	// bus restart).
	Reconnects uint64
	// Resyncs counts full re-reads of the units, by why: "start", "reload"
	// (daemon-reload), "reconnect", "interval".
	Resyncs map[string]uint64
	// Errors counts what failed, by what: "connect", "refused" (the manager's socket
	// would not let us in), "call", "scan".
	Errors map[string]uint64

	// Units are the units Quadlet generated, by name.
	Units []Unit
	// Orphans are Quadlet files in the search paths that no unit came from: the
	// generator rejected them, or the manager was not reloaded since they appeared.
	Orphans []QuadletFile

	index map[string]int
}

// Unit is one unit Quadlet generated, with the properties systemd has for it.
type Unit struct {
	Name string // foo.service
	// Kind is the Quadlet file's kind: container, pod, volume, network, kube, image,
	// build or artifact.
	Kind string
	// SourcePath is the Quadlet file the unit was generated from.
	SourcePath string
	// LoadState, ActiveState, SubState and Result are systemd's words for them
	// (ActiveState: active, reloading, inactive, failed, activating, deactivating;
	// Result: success, exit-code, signal, core-dump, timeout, watchdog,
	// start-limit-hit, resources, oom-kill, ...).
	LoadState, ActiveState, SubState, Result string
	// Restart is the service's Restart= setting (no, on-failure, always, ...).
	Restart string
	// NRestarts counts the restarts systemd made under Restart=, since the unit was
	// loaded (daemon-reload keeps it; a manual start resets it).
	NRestarts uint64
	// ExecMainCode says how the main process ended (1 exited, 2 killed, 3 dumped core,
	// 0 not yet); ExecMainStatus is its exit status or signal number.
	ExecMainCode, ExecMainStatus int
	// ExecMainPID is the main process while the unit runs, 0 otherwise.
	ExecMainPID uint32
	// StateChange is when ActiveState last changed (StateChangeTimestamp).
	StateChange time.Time
	// ActiveEnter is when the unit last became active.
	ActiveEnter time.Time
}

// QuadletFile is a Quadlet source file that produced no unit.
type QuadletFile struct {
	Path string
	Kind string
	// Reason is what the generator said about the file, when it could be found.
	Reason string
}

// UnitEvent is a change in a unit's life worth telling a log pipeline.
type UnitEvent struct {
	Time    time.Time
	Manager string
	// Action is "failed", "restarted", "started" or "stopped".
	Action string
	Unit   Unit
	// Restarts is how many restarts systemd made since the last event, for
	// "restarted".
	Restarts uint64
}

// Find returns the unit with the given name.
func (s *Snapshot) Find(name string) (*Unit, bool) {
	if s.index == nil {
		for i := range s.Units {
			if s.Units[i].Name == name {
				return &s.Units[i], true
			}
		}
		return nil, false
	}
	i, ok := s.index[name]
	if !ok {
		return nil, false
	}
	return &s.Units[i], true
}

func (s *Snapshot) buildIndex() {
	s.index = make(map[string]int, len(s.Units))
	for i, u := range s.Units {
		s.index[u.Name] = i
	}
}

// ActiveStates are the values ActiveState takes, in the order the one-series-per-state
// metric lists them.
var ActiveStates = []string{"active", "reloading", "inactive", "failed", "activating", "deactivating"}

// ManagerFor names the manager that runs the units of a Podman service's containers:
// the system manager for the rootful service, user-UID for rootless-UID.
func ManagerFor(podmanService string) string {
	if podmanService == "rootful" {
		return "system"
	}
	if uid, ok := cutPrefix(podmanService, "rootless-"); ok {
		return "user-" + uid
	}
	return ""
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}

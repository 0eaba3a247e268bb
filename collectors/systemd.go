package collectors

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/systemd"
)

// UnitSnapshots is what the systemd collector reads: one snapshot per manager.
type UnitSnapshots interface {
	Snapshots() []*systemd.Snapshot
}

func init() {
	register("systemd", "The service layer: Quadlet units of the system and user managers (state, result, restarts, exit status), Quadlet files that produced no unit, and the D-Bus connection's health.", true, newUnitsCollector)
}

// unitsCollector reports the systemd source. The units' series depend only on a
// manager's snapshot and are cached with it; Update sends the connection's health.
type unitsCollector struct{ src UnitSnapshots }

func newUnitsCollector(d Deps) (Collector, error) { return &unitsCollector{src: d.Units}, nil }

func (c *unitsCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	if c.src == nil {
		return nil
	}
	e := emitter{ch}
	for _, s := range c.src.Snapshots() {
		e.emit(catalog.SystemdUp, boolValue(s.Up), s.Manager)
		e.emit(catalog.SystemdReconnects, float64(s.Reconnects), s.Manager)
		for reason, n := range s.Resyncs {
			e.emit(catalog.SystemdResyncs, float64(n), s.Manager, reason)
		}
		for reason, n := range s.Errors {
			e.emit(catalog.SystemdErrors, float64(n), s.Manager, reason)
		}
	}
	return nil
}

// exitHow names systemd's ExecMainCode (a CLD_* code from waitid).
var exitHow = map[int]string{1: "exited", 2: "killed", 3: "dumped"}

func (c *unitsCollector) collectUnits(s *systemd.Snapshot, ch chan<- prometheus.Metric) {
	e := emitter{ch}
	for i := range s.Units {
		u := &s.Units[i]
		e.emit(catalog.QuadletUnitInfo, 1, u.Name, s.Manager, u.Kind, u.SourcePath, u.Restart)
		for _, st := range systemd.ActiveStates {
			e.emit(catalog.QuadletUnitState, boolValue(u.ActiveState == st), u.Name, s.Manager, st)
		}
		if u.Result != "" {
			e.emit(catalog.QuadletUnitResult, 1, u.Name, s.Manager, u.Result)
		}
		e.emit(catalog.QuadletUnitRestarts, float64(u.NRestarts), u.Name, s.Manager)
		if how, ok := exitHow[u.ExecMainCode]; ok {
			e.emit(catalog.QuadletUnitMainExitStatus, float64(u.ExecMainStatus), u.Name, s.Manager, how)
		}
		if !u.StateChange.IsZero() {
			e.emit(catalog.QuadletUnitStateChange, unixSeconds(u.StateChange), u.Name, s.Manager)
		}
	}
	for _, f := range s.Orphans {
		e.emit(catalog.QuadletFileWithoutUnit, 1, f.Path, f.Kind, s.Manager)
	}
}

// unitRestart is the Restart= of the unit that runs a container of a Podman service,
// "" when no watched manager has that unit.
func unitRestart(units UnitSnapshots, podmanService, unit string) string {
	if units == nil || unit == "" {
		return ""
	}
	manager := systemd.ManagerFor(podmanService)
	for _, s := range units.Snapshots() {
		if s.Manager != manager {
			continue
		}
		if u, ok := s.Find(unit); ok {
			return u.Restart
		}
	}
	return ""
}

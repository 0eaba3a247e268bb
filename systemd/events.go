package systemd

import "time"

// unitEvents are the lifecycle events between two reads of a unit: each change is
// told once, at the time systemd gives for it. Reads are coalesced, so several
// restarts between two reads are one event that says how many.
func unitEvents(old, u Unit) []UnitEvent {
	at := u.StateChange
	if at.IsZero() {
		at = time.Now()
	}
	var out []UnitEvent
	switch {
	case u.NRestarts > old.NRestarts:
		out = append(out, UnitEvent{Time: at, Action: "restarted", Unit: u, Restarts: u.NRestarts - old.NRestarts})
	case u.NRestarts < old.NRestarts && u.NRestarts > 0:
		// A manual start reset the count between two reads, and systemd restarted
		// the unit since: those restarts are new.
		out = append(out, UnitEvent{Time: at, Action: "restarted", Unit: u, Restarts: u.NRestarts})
	}
	if u.ActiveState == old.ActiveState && u.StateChange.Equal(old.StateChange) {
		return out
	}
	switch {
	case u.ActiveState == "failed" && (old.ActiveState != "failed" || !u.StateChange.Equal(old.StateChange)):
		out = append(out, UnitEvent{Time: at, Action: "failed", Unit: u})
	case u.ActiveState == "active" && old.ActiveState != "active" && old.ActiveState != "reloading":
		out = append(out, UnitEvent{Time: at, Action: "started", Unit: u})
	case u.ActiveState == "inactive" && (old.ActiveState == "active" || old.ActiveState == "deactivating" || old.ActiveState == "reloading"):
		out = append(out, UnitEvent{Time: at, Action: "stopped", Unit: u})
	}
	return out
}

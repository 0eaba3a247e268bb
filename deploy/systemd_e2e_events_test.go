//go:build systemd_e2e

package deploy

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
)

// The service layer's OTLP unit events and its faults: daemon-reexec, a socket that
// refuses.

// unitEvents are the unit.* event records of a unit since offset off of the
// collector's output.
func (e *e2e) unitEvents(m manager, off int64, unit string) []otelcoltest.LogRecord {
	recs, _ := e.col.LogsFrom(off)
	var out []otelcoltest.LogRecord
	for _, r := range recs {
		name := r.EventName
		if name == "" {
			name, _ = r.Attributes["event.name"].(string)
		}
		if !strings.HasPrefix(name, "unit.") {
			continue
		}
		if mgr, ok := r.Attributes["systemd.manager"].(string); ok && mgr != m.name {
			continue
		}
		if u, _ := r.Attributes["systemd.unit.name"].(string); u == unit {
			out = append(out, r)
		}
	}
	return out
}

func eventName(r otelcoltest.LogRecord) string {
	if r.EventName != "" {
		return r.EventName
	}
	n, _ := r.Attributes["event.name"].(string)
	return n
}

// resourceOf says whose resource an event is on: a container's name, or "host".
func resourceOf(r otelcoltest.LogRecord) string {
	if n, ok := r.Resource["container.name"].(string); ok {
		return "container " + n
	}
	if _, ok := r.Resource["container.id"]; ok {
		return "container without a name"
	}
	return "host"
}

// checkEvents is column g: the crashing unit's unit.failed (once: it failed once, for
// good, after its restarts) and unit.restarted events (none twice; the restarts they
// count add up to NRestarts when they count them), on the unit's container's resource
// or, with the container gone (Quadlet runs it with --rm), the host's; and the
// healthy unit's unit.started on its running container's resource.
func (e *e2e) checkEvents(m manager, off int64) (bool, string) {
	crash, healthy := m.unit("crash"), m.unit("healthy")
	count := func(recs []otelcoltest.LogRecord, name string) []otelcoltest.LogRecord {
		var out []otelcoltest.LogRecord
		for _, r := range recs {
			if eventName(r) == name {
				out = append(out, r)
			}
		}
		return out
	}
	found := e.eventually(20*time.Second, "the unit events at the collector", func() bool {
		c := e.unitEvents(m, off, crash)
		return len(count(c, "unit.failed")) > 0 && len(count(c, "unit.restarted")) > 0 && len(count(e.unitEvents(m, off, healthy), "unit.started")) > 0
	})
	time.Sleep(2 * time.Second) // a duplicate would come after
	recs := e.unitEvents(m, off, crash)
	failed, restarted := count(recs, "unit.failed"), count(recs, "unit.restarted")
	started := count(e.unitEvents(m, off, healthy), "unit.started")
	nrestarts := e.unitProps(m, crash, "NRestarts")["NRestarts"]

	seen := map[string]int{}
	dups := 0
	for _, r := range recs {
		k := fmt.Sprint(eventName(r), r.Time.UnixNano(), r.Attributes, r.Body)
		seen[k]++
		if seen[k] > 1 {
			dups++
		}
	}
	// Resources: the crashing unit's container or the host.
	var where []string
	resOK := true
	for _, r := range append(slices.Clone(failed), restarted...) {
		w := resourceOf(r)
		where = append(where, eventName(r)+" on "+w)
		if w != "host" && w != "container "+m.container("crash") {
			resOK = false
		}
	}
	// The restarts each event counts (systemd.unit.restarts.new: since the last
	// event) add up to NRestarts.
	sum, counted := 0, false
	var each []string
	for _, r := range restarted {
		if v, ok := r.Attributes["systemd.unit.restarts.new"]; ok {
			if n, err := strconv.Atoi(fmt.Sprint(v)); err == nil {
				sum += n
				counted = true
			}
		}
		each = append(each, fmt.Sprintf("+%v of %v at %s", r.Attributes["systemd.unit.restarts.new"], r.Attributes["systemd.unit.restarts"], r.Time.Format("15:04:05.000")))
	}
	restartsOK := !counted || strconv.Itoa(sum) == nrestarts
	startedOn := "none"
	startedOK := false
	if len(started) == 0 {
		var names []string
		for _, r := range e.unitEvents(m, off, healthy) {
			names = append(names, eventName(r)+" on "+resourceOf(r))
		}
		startedOn = fmt.Sprintf("none (its events: %v)", names)
	}
	for _, r := range started {
		startedOn = resourceOf(r)
		if startedOn == "container "+m.container("healthy") {
			startedOK = true
		}
	}
	if len(started) > 0 && !startedOK {
		// Was there a container to put it on? Quadlet's unit is active only once the
		// container runs (Type=notify, READY=1 from conmon after the start).
		at, _ := e.in(m, "podman inspect -f '{{.State.StartedAt}}' "+m.container("healthy"))
		startedOn += fmt.Sprintf(" (event at %s; %s running since %s)", started[len(started)-1].Time.Format("15:04:05.000"), m.container("healthy"), at)
	}
	var failedAttrs string
	if len(failed) > 0 {
		failedAttrs = fmt.Sprintf(" %v %q", failed[0].Attributes, shorten(failed[0].Body, 120))
	}
	ok := len(failed) == 1 && len(restarted) >= 1 && dups == 0 && resOK && restartsOK && startedOK
	if !found {
		// What did arrive, to tell a lost event from one never sent.
		all, _ := e.col.LogsFrom(off)
		names := map[string]int{}
		for _, r := range all {
			if n := eventName(r); n != "" {
				u, _ := r.Attributes["systemd.unit.name"].(string)
				mg, _ := r.Attributes["systemd.manager"].(string)
				names[n+" "+mg+" "+u]++
			}
		}
		defer func() { e.t.Logf("events at the collector since the row began (%d records): %v", len(all), names) }()
	}
	detail := fmt.Sprintf("%s: %d unit.failed%s, %d unit.restarted (NRestarts %s", crash, len(failed), failedAttrs, len(restarted), nrestarts)
	if counted {
		detail += fmt.Sprintf(", the events count %d: %v", sum, each)
	}
	detail += fmt.Sprintf("), %d duplicates; %v; %s unit.started on %s", dups, where, healthy, startedOn)
	return ok, detail
}

// checkReexec is column h for a live row: the manager re-executes (its socket is
// created anew, every connection to it dropped); podexporter must connect again once
// and report the units again.
func (e *e2e) checkReexec(m manager, v variant, since string) (bool, string) {
	sc, err := e.scrapeMetrics()
	if err != nil {
		return false, "scrape: " + err.Error()
	}
	lm := map[string]string{"systemd_manager": m.name}
	before, _ := sc.value("podexporter_systemd_reconnects_total", lm)
	if math.IsNaN(before) {
		before = 0
	}
	resyncBefore, _ := sc.value("podexporter_systemd_resyncs_total", merge(lm, "reason", "reconnect"))
	if out, err := e.in(m, m.systemctl()+" daemon-reexec"); err != nil {
		return false, fmt.Sprintf("%s daemon-reexec: %v %s", m.systemctl(), err, out)
	}
	reexec := time.Now()
	unit := m.unit("healthy")
	var after, up, state, resync float64
	var afterOK, upOK, stateOK bool
	back := e.eventually(30*time.Second, "the reconnect after daemon-reexec", func() bool {
		sc, err := e.scrapeMetrics()
		if err != nil {
			return false
		}
		after, afterOK = sc.value("podexporter_systemd_reconnects_total", lm)
		up, upOK = sc.value("podexporter_systemd_up", lm)
		state, stateOK = sc.value("podman_quadlet_unit_state", map[string]string{"unit": unit, "systemd_manager": m.name, "state": "active"})
		resync, _ = sc.value("podexporter_systemd_resyncs_total", merge(lm, "reason", "reconnect"))
		return afterOK && after >= before+1 && upOK && up == 1 && stateOK && state == 1
	})
	took := time.Since(reexec)
	time.Sleep(2 * time.Second)
	if sc, err := e.scrapeMetrics(); err == nil {
		after, afterOK = sc.value("podexporter_systemd_reconnects_total", lm)
	}
	ok := back && afterOK && after == before+1
	detail := fmt.Sprintf("%s daemon-reexec: reconnects %g -> %s (want +1) within %.1f s, up %s, %s active %s, resyncs{reason=reconnect} %s -> %s",
		m.systemctl(), before, show(after, afterOK), took.Seconds(), show(up, upOK), unit, show(state, stateOK),
		show(resyncBefore, !math.IsNaN(resyncBefore)), show(resync, !math.IsNaN(resync)))
	if !ok {
		detail += "; the daemon's systemd log: " + e.sourceLog(v, since, 8)
	}
	return ok, detail
}

// checkRefused is column h for the native unit: a user manager's socket admits root
// and its own user only, so podexporter (user podexporter) must be refused, and that
// counted with the manager down. The shipped unit's ProtectHome=yes hides /run/user
// altogether (no user manager is seen, nothing to refuse): what it reports is shown,
// then the refusal is checked with ProtectHome=read-only in a drop-in of the test's.
func (e *e2e) checkRefused(o manager, v variant, since string) (bool, string) {
	lm := map[string]string{"systemd_manager": o.name}
	allErrors := func(sc exposition) []string {
		var errs []string
		for _, smp := range sc.get("podexporter_systemd_errors_total", nil) {
			errs = append(errs, fmt.Sprintf("%s/%s=%g", smp.labels["systemd_manager"], smp.labels["reason"], smp.value))
		}
		return errs
	}
	shipped := "unreadable"
	if sc, err := e.scrapeMetrics(); err == nil {
		_, seen := sc.value("podexporter_systemd_up", lm)
		shipped = fmt.Sprintf("%s seen: %v, errors %v", o.name, seen, allErrors(sc))
	}
	const dropin = "/etc/systemd/system/podexporter.service.d/e2e-protecthome.conf"
	defer func() { _, _ = e.h.Sh("rm -f " + dropin + " && systemctl daemon-reload") }()
	restarted := e.sh("date '+%Y-%m-%d %H:%M:%S'")
	if out, err := e.h.Sh(fmt.Sprintf("printf '[Service]\\nProtectHome=read-only\\n' > %s && systemctl daemon-reload && systemctl restart %s", dropin, v.unit)); err != nil {
		return false, fmt.Sprintf("shipped unit: %s; restart with ProtectHome=read-only: %v %s", shipped, err, out)
	}
	var refused, up float64
	var refusedOK, upOK bool
	var errs []string
	ok := e.eventually(20*time.Second, "the refusal counted", func() bool {
		sc, err := e.scrapeMetrics()
		if err != nil {
			return false
		}
		refused, refusedOK = sc.value("podexporter_systemd_errors_total", merge(lm, "reason", "refused"))
		up, upOK = sc.value("podexporter_systemd_up", lm)
		errs = allErrors(sc)
		return refusedOK && refused >= 1 && upOK && up == 0
	})
	detail := fmt.Sprintf("shipped unit (ProtectHome=yes hides /run/user): %s; with ProtectHome=read-only, %s's manager (0600 socket in a 0700 directory of user %s): errors{reason=refused} %s, up %s; all errors %v",
		shipped, o.name, e2eUser, show(refused, refusedOK), show(up, upOK), errs)
	if log := e.sourceLog(v, restarted, 3); log != "" {
		detail += "; logged: " + log
	}
	return ok, detail
}

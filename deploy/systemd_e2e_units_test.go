//go:build systemd_e2e

package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The service layer's unit checks: the healthy unit, the failing ones, the file
// without a unit, each against the booted host's systemctl and the generator.

// checkHealthyUnit is column a: the healthy unit's state, kind, source file and
// Restart= as systemctl says, its container's systemd_unit, the manager up; for the
// rootful unit also the user manager it reaches through /run/user.
func (e *e2e) checkHealthyUnit(s serviceRow) (bool, string) {
	m := s.m
	unit := m.unit("healthy")
	var detail string
	ok := e.eventually(30*time.Second, unit+" in /metrics", func() bool {
		p := e.unitProps(m, unit, "ActiveState", "SourcePath", "Restart")
		sc, err := e.scrapeMetrics()
		if err != nil {
			detail = "scrape: " + err.Error()
			return false
		}
		lm := map[string]string{"unit": unit, "systemd_manager": m.name}
		up, upOK := sc.value("podexporter_systemd_up", map[string]string{"systemd_manager": m.name})
		st, stOK := sc.value("podman_quadlet_unit_state", merge(lm, "state", p["ActiveState"]))
		var ones []string
		for _, smp := range sc.get("podman_quadlet_unit_state", lm) {
			if smp.value == 1 {
				ones = append(ones, smp.labels["state"])
			}
		}
		infos := sc.get("podman_quadlet_unit_info", lm)
		infoOK := len(infos) == 1 && infos[0].labels["kind"] == "container" && infos[0].labels["source_path"] == p["SourcePath"] &&
			infos[0].labels["restart"] == p["Restart"] && p["SourcePath"] == m.file("healthy")
		var info string
		if len(infos) == 1 {
			info = fmt.Sprintf("kind=%s source_path=%s restart=%s", infos[0].labels["kind"], infos[0].labels["source_path"], infos[0].labels["restart"])
		} else {
			info = fmt.Sprintf("%d series", len(infos))
		}
		cinfo := sc.get("podman_container_info", map[string]string{"name": m.container("healthy")})
		cunit := "no podman_container_info"
		if len(cinfo) == 1 {
			cunit = "systemd_unit=" + cinfo[0].labels["systemd_unit"]
		}
		good := upOK && up == 1 && stOK && st == 1 && len(ones) == 1 && infoOK && len(cinfo) == 1 && cinfo[0].labels["systemd_unit"] == unit
		detail = fmt.Sprintf("systemctl: %s, SourcePath=%s, Restart=%s; /metrics: podexporter_systemd_up{%s} %s, state %v=1, info %s; %s: %s",
			p["ActiveState"], p["SourcePath"], p["Restart"], m.name, show(up, upOK), ones, info, m.container("healthy"), cunit)
		if s.also != nil {
			o := *s.also
			ou := o.unit("healthy")
			op := e.unitProps(o, ou, "ActiveState", "SourcePath")
			oup, oupOK := sc.value("podexporter_systemd_up", map[string]string{"systemd_manager": o.name})
			ost, ostOK := sc.value("podman_quadlet_unit_state", map[string]string{"unit": ou, "systemd_manager": o.name, "state": op["ActiveState"]})
			oinfo := sc.get("podman_quadlet_unit_info", map[string]string{"unit": ou, "systemd_manager": o.name, "source_path": op["SourcePath"]})
			good = good && oupOK && oup == 1 && ostOK && ost == 1 && len(oinfo) == 1
			detail += fmt.Sprintf("; also %s through /run/user: up %s, %s %s=%s, info with its SourcePath: %v",
				o.name, show(oup, oupOK), ou, op["ActiveState"], show(ost, ostOK), len(oinfo) == 1)
		}
		return good
	})
	return ok, detail + fmt.Sprintf(" (within 30 s: %v)", ok)
}

func merge(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// exitHow names systemd's ExecMainCode as the exit-status series does.
var exitHow = map[string]string{"1": "exited", "2": "killed", "3": "dumped"}

// compareUnit is columns b and c: every value podexporter reports of a unit equals
// what systemctl show says, read before and after the scrape (equal both times, so the
// unit did not change in between); retried for 15 s.
func (e *e2e) compareUnit(m manager, unit string) (bool, string) {
	props := []string{"ActiveState", "Result", "NRestarts", "ExecMainCode", "ExecMainStatus"}
	var detail string
	ok := e.eventually(15*time.Second, unit+" as systemctl says", func() bool {
		before := e.unitProps(m, unit, props...)
		sc, err := e.scrapeMetrics()
		after := e.unitProps(m, unit, props...)
		if err != nil {
			detail = "scrape: " + err.Error()
			return false
		}
		lm := map[string]string{"unit": unit, "systemd_manager": m.name}
		var states, results, exits []string
		for _, smp := range sc.get("podman_quadlet_unit_state", lm) {
			if smp.value == 1 {
				states = append(states, smp.labels["state"])
			}
		}
		for _, smp := range sc.get("podman_quadlet_unit_result", lm) {
			results = append(results, fmt.Sprintf("%s=%s", smp.labels["result"], show(smp.value, true)))
		}
		for _, smp := range sc.get("podman_quadlet_unit_main_exit_status", lm) {
			exits = append(exits, fmt.Sprintf("%s %s", smp.labels["how"], show(smp.value, true)))
		}
		restarts, rOK := sc.value("podman_quadlet_unit_restarts_total", lm)
		wantExit := []string{}
		if how, ok := exitHow[before["ExecMainCode"]]; ok {
			wantExit = []string{how + " " + before["ExecMainStatus"]}
		}
		good := fmt.Sprint(before) == fmt.Sprint(after) &&
			slices.Equal(states, []string{before["ActiveState"]}) &&
			slices.Equal(results, []string{before["Result"] + "=1"}) &&
			rOK && strconv.FormatFloat(restarts, 'f', -1, 64) == before["NRestarts"] &&
			slices.Equal(exits, wantExit)
		detail = fmt.Sprintf("systemctl: %s, Result=%s, NRestarts=%s, ExecMainCode=%s ExecMainStatus=%s; /metrics: state %v, result %v, restarts %s, exit status %v",
			before["ActiveState"], before["Result"], before["NRestarts"], before["ExecMainCode"], before["ExecMainStatus"],
			states, results, show(restarts, rOK), exits)
		if fmt.Sprint(before) != fmt.Sprint(after) {
			detail += " (the unit changed during the scrape)"
		}
		return good
	})
	return ok, detail
}

// checkOrphanMetric is column d's metric part: the rejected file has no unit and is
// reported as a file without one.
func (e *e2e) checkOrphanMetric(m manager) (bool, string) {
	path := m.file("broken")
	unit := m.unit("broken")
	load := e.unitProps(m, unit, "LoadState")["LoadState"]
	var detail string
	ok := e.eventually(20*time.Second, path+" without a unit", func() bool {
		sc, err := e.scrapeMetrics()
		if err != nil {
			detail = "scrape: " + err.Error()
			return false
		}
		v, vOK := sc.value("podman_quadlet_file_without_unit", map[string]string{"path": path, "systemd_manager": m.name})
		kind := ""
		if got := sc.get("podman_quadlet_file_without_unit", map[string]string{"path": path, "systemd_manager": m.name}); len(got) == 1 {
			kind = got[0].labels["kind"]
		}
		infos := sc.get("podman_quadlet_unit_info", map[string]string{"source_path": path})
		detail = fmt.Sprintf("systemctl: %s LoadState=%s; podman_quadlet_file_without_unit{path=%q,kind=%q} %s, unit_info with that source: %d",
			unit, load, path, kind, show(v, vOK), len(infos))
		return load == "not-found" && vOK && v == 1 && kind == "container" && len(infos) == 0
	})
	return ok, detail
}

// checkOrphanLog is column d's log part: the generator's reason for rejecting the file
// (its own dry run on the booted host says what it is) logged by the daemon once.
func (e *e2e) checkOrphanLog(s serviceRow, since string) (bool, string) {
	m := s.m
	base := m.prefix + "broken.container"
	flag := ""
	if m.user {
		flag = " -user"
	}
	reason, _ := e.in(m, "/usr/libexec/podman/quadlet -dryrun"+flag+" 2>&1 >/dev/null | grep -F 'converting \""+base+"\"' | head -1")
	reason = strings.TrimSpace(regexp.MustCompile(`^quadlet-generator\[\d+\]: `).ReplaceAllString(reason, ""))
	var lines []string
	for _, l := range strings.Split(e.unitLog(s.v, since, 0), "\n") {
		if strings.Contains(l, base) {
			lines = append(lines, shorten(l, 300))
		}
	}
	// The generator names the key it refused; the daemon's line must carry that.
	key := regexp.MustCompile(`unsupported key '([^']+)'`).FindStringSubmatch(reason)
	withReason := len(lines) == 1 && key != nil && strings.Contains(lines[0], key[1])
	return len(lines) == 1 && withReason, fmt.Sprintf("generator (quadlet -dryrun%s): %q; the daemon logged the file %d times (want once, with the key it refused): %q",
		flag, reason, len(lines), lines)
}

//go:build systemd_e2e

package deploy

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
)

// The service layer: Quadlet files installed for the system manager and for the
// lingering user's manager, watched by the unit meant for each, every value
// podexporter reports compared with what the booted host's own systemctl and podman
// inspect say.

// serviceChecks are the service-layer table's columns.
var serviceChecks = []column{
	{"unit", "healthy unit: state, kind, source, the container's unit"},
	{"noimage", "Image= missing: as systemctl show"},
	{"crash", "exit 1 under Restart=on-failure: as systemctl show"},
	{"orphan", "malformed file: no unit, file reported, reason logged once"},
	{"stale", "health timer stopped: stale after 3 intervals + timeout"},
	{"hardening", "hardening checks as podman inspect"},
	{"events", "OTLP unit events, each once, on the right resource"},
	{"faults", "daemon-reexec; a socket that refuses"},
}

// The fixtures' health timing (the healthy one's HealthInterval= and HealthTimeout=).
const (
	fixtureHealthInterval = 3 * time.Second
	fixtureHealthTimeout  = 2 * time.Second
	// staleGrace is what the stale check allows past three intervals plus the
	// timeout: the scrape and the snapshot that carries the change.
	staleGrace = 5 * time.Second
)

// fixtureSummary describes the fixtures for docs/platforms.md.
const fixtureSummary = "healthy (HealthCmd=, HealthInterval=3s, HealthTimeout=2s, Restart=always), " +
	"noimage (an Image= that does not exist, Pull=never), " +
	"crash (exits 1; Restart=on-failure, RestartSec=1, StartLimitBurst=3), " +
	"broken (a misspelt key, Imag=, which the generator rejects: no unit), " +
	"hardened (User=65534, ReadOnly=true, the image by digest, no capabilities, HealthCmd=, Restart=on-failure) and " +
	"exposed (root, --privileged, AddCapability=CAP_SYS_ADMIN, SecurityLabelDisable=true, SeccompProfile=unconfined, by tag, no health check), " +
	"named sys-NAME.container for the system manager and usr-NAME.container for the user's"

// manager is a systemd manager with its Quadlet directory and its fixtures' prefix.
type manager struct {
	name   string // the systemd_manager label: system, user-UID
	user   bool
	dir    string // where its fixtures go
	prefix string // of its fixtures' names, so that the two managers' units differ
}

var (
	systemManager = manager{name: "system", dir: "/etc/containers/systemd", prefix: "sys-"}
	userManager   = manager{name: fmt.Sprintf("user-%d", e2eUID), user: true,
		dir: "/home/" + e2eUser + "/.config/containers/systemd", prefix: "usr-"}
)

func (m manager) systemctl() string {
	if m.user {
		return "systemctl --user"
	}
	return "systemctl"
}

// unit is the service Quadlet makes of fixture name; container is its container.
func (m manager) unit(name string) string      { return m.prefix + name + ".service" }
func (m manager) container(name string) string { return "systemd-" + m.prefix + name }
func (m manager) file(name string) string      { return m.dir + "/" + m.prefix + name + ".container" }

// fixtureUnits are the fixtures that are started (the broken one has no unit).
var fixtureUnits = []string{"healthy", "noimage", "crash", "hardened", "exposed"}

// fixtureFiles are the Quadlet files, by fixture name; digest pins the hardened one's
// image (the busybox test image's digest in that manager's storage).
func fixtureFiles(digest string) map[string]string {
	// Host network: the user has no slirp4netns or pasta here. A short stop timeout:
	// sleep ignores SIGTERM.
	common := "Pull=never\nNetwork=host\nStopTimeout=1\n"
	return map[string]string{
		"healthy": "[Unit]\nDescription=service layer e2e: healthy, with a health check\n[Container]\nImage=" + testenv.Image + "\n" + common +
			"Exec=sleep 3600\nHealthCmd=echo ok\n" +
			fmt.Sprintf("HealthInterval=%ds\nHealthTimeout=%ds\n", int(fixtureHealthInterval.Seconds()), int(fixtureHealthTimeout.Seconds())) +
			"[Service]\nRestart=always\n",
		"noimage": "[Unit]\nDescription=service layer e2e: an image that does not exist\n[Container]\nImage=localhost/podexporter-e2e-missing:none\n" + common +
			"Exec=sleep 3600\n",
		"crash": "[Unit]\nDescription=service layer e2e: exits 1\nStartLimitIntervalSec=60\nStartLimitBurst=3\n[Container]\nImage=" + testenv.Image + "\n" + common +
			"Exec=sh -c 'echo crashing; exit 1'\n[Service]\nRestart=on-failure\nRestartSec=1\n",
		// Imag= for Image=: the generator refuses the unknown key and makes no unit.
		"broken": "[Unit]\nDescription=service layer e2e: rejected by the generator\n[Container]\nImag=" + testenv.Image + "\n" + common +
			"Exec=sleep 3600\n",
		"hardened": "[Unit]\nDescription=service layer e2e: passes what it can of the hardening guide\n[Container]\nImage=localhost/busybox@" + digest + "\n" + common +
			"User=65534:65534\nReadOnly=true\nNoNewPrivileges=true\nDropCapability=all\nExec=sleep 3600\nHealthCmd=echo ok\nHealthInterval=30s\n[Service]\nRestart=on-failure\n",
		"exposed": "[Unit]\nDescription=service layer e2e: fails the hardening guide\n[Container]\nImage=" + testenv.Image + "\n" + common +
			"PodmanArgs=--privileged\nAddCapability=CAP_SYS_ADMIN\nSecurityLabelDisable=true\nSeccompProfile=unconfined\nExec=sleep 3600\n",
	}
}

// in runs a script as the manager's user.
func (e *e2e) in(m manager, script string) (string, error) {
	if m.user {
		return e.h.UserSh(e2eUser, e2eUID, script)
	}
	return e.h.Sh(script)
}

// installFixtures writes the manager's Quadlet files, reloads it and starts the units
// without waiting.
func (e *e2e) installFixtures(m manager) {
	e.t.Helper()
	digest, err := e.in(m, "podman image inspect --format '{{.Digest}}' "+testenv.Image)
	if err != nil || !strings.HasPrefix(digest, "sha256:") {
		e.t.Fatalf("the test image's digest in %s's storage: %v %q", m.name, err, digest)
	}
	var cp []string
	for name, text := range fixtureFiles(digest) {
		src := e.h.WriteFile("fixture-"+m.prefix+name+".container", []byte(text))
		cp = append(cp, fmt.Sprintf("install -m 0644 %s %s", src, m.file(name)))
	}
	sort.Strings(cp)
	var start []string
	for _, n := range fixtureUnits {
		start = append(start, m.unit(n))
	}
	script := fmt.Sprintf("set -e\nmkdir -p %s\n%s\n%s daemon-reload\n%s start --no-block %s",
		m.dir, strings.Join(cp, "\n"), m.systemctl(), m.systemctl(), strings.Join(start, " "))
	if out, err := e.in(m, script); err != nil {
		e.t.Fatalf("install the %s manager's fixtures: %v\n%s", m.name, err, out)
	}
}

// removeFixtures stops the fixtures' units and removes their files.
func (e *e2e) removeFixtures(m manager) {
	var units, containers []string
	for _, n := range fixtureUnits {
		units = append(units, m.unit(n))
		containers = append(containers, m.container(n))
	}
	// The containers first: a unit whose file is gone (the rootless variant's removal
	// takes the whole directory) has no ExecStop= left, and sleep ignores SIGTERM.
	_, _ = e.in(m, fmt.Sprintf("podman rm -f -t 0 %[5]s >/dev/null 2>&1; %[1]s stop %[2]s; rm -f %[3]s/%[4]s*.container; %[1]s daemon-reload; %[1]s reset-failed %[2]s 2>/dev/null; true",
		m.systemctl(), strings.Join(units, " "), m.dir, m.prefix, strings.Join(containers, " ")))
}

// serviceRow is one row of the service-layer table: a manager's fixtures as one
// installation of podexporter sees them.
type serviceRow struct {
	name string
	v    variant
	m    manager
	// live: the fixtures are started again under this daemon, their health timer
	// stopped, their manager re-executed, so that changes are seen as they happen.
	live bool
	// also is another manager this daemon must reach.
	also *manager
	// refuses is a manager whose socket must refuse this daemon.
	refuses *manager
}

// serviceLayer installs the fixtures of both managers and runs the service-layer rows
// SYSTEMD_E2E_ONLY selects ("service layer: " and the row's name).
func (e *e2e) serviceLayer() []row {
	byName := map[string]variant{}
	for _, v := range variants() {
		byName[v.name] = v
	}
	specs := []serviceRow{
		{name: "system: Quadlet, rootful (/run/systemd/private)", v: byName["Quadlet, rootful, state volume"], m: systemManager, live: true, also: &userManager},
		{name: fmt.Sprintf("user-%d (lingering): Quadlet, rootless (its own /run/user/%d/systemd/private)", e2eUID, e2eUID),
			v: byName["Quadlet, rootless (systemctl --user, lingering)"], m: userManager, live: true},
		{name: "system: native podexporter.service, user podexporter (system bus)", v: byName["native podexporter.service"], m: systemManager, refuses: &userManager},
	}
	var run []serviceRow
	for _, s := range specs {
		if selected("service layer: " + s.name) {
			run = append(run, s)
		}
	}
	if len(run) == 0 {
		return nil
	}
	e.t.Logf("=== service layer: installing the fixtures")
	for _, m := range []manager{systemManager, userManager} {
		e.installFixtures(m)
		defer e.removeFixtures(m)
	}
	// Settled before any row's daemon starts: a row sees only the changes it makes.
	for _, m := range []manager{systemManager, userManager} {
		if why := e.fixturesSettled(m); why != "" {
			e.t.Logf("service layer: %s's fixtures did not settle: %s; %s", m.name, why, e.fixtureLog(m, "crash", 12))
		}
	}
	var rows []row
	for _, s := range run {
		rows = append(rows, e.serviceRun(s))
	}
	return rows
}

// serviceRun installs and starts the row's podexporter, checks each column, stops it
// and removes it.
func (e *e2e) serviceRun(s serviceRow) row {
	t := e.t
	r := row{variant: s.name, cells: map[string]cell{}}
	set := func(key string, ok bool, format string, args ...any) {
		r.cells[key] = cell{ok: ok, detail: fmt.Sprintf(format, args...)}
		t.Logf("service layer, %s / %s: ok=%v %s", s.name, key, ok, r.cells[key].detail)
	}
	na := func(key, why string) { r.cells[key] = cell{ok: true, na: true, detail: why} }
	notRun := func(why string) {
		for _, c := range serviceChecks {
			if _, done := r.cells[c.key]; !done {
				set(c.key, false, "not run: %s", why)
			}
		}
	}
	t.Logf("=== service layer: %s", s.name)
	t0 := time.Now()
	defer func() { t.Logf("service layer, %s: %s", s.name, time.Since(t0).Round(time.Second)) }()
	s.v.install(e)
	defer s.v.remove(e)
	since := e.sh("date '+%Y-%m-%d %H:%M:%S'")
	if out, err := e.as(s.v, systemctl(s.v)+" start "+s.v.unit); err != nil {
		notRun(fmt.Sprintf("systemctl start %s: %v %s; %s", s.v.unit, err, out, e.unitLog(s.v, since, 15)))
		return r
	}
	defer func() { _, _ = e.as(s.v, systemctl(s.v)+" stop "+s.v.unit) }()
	if !e.eventually(30*time.Second, "/readyz", func() bool { return e.httpCode("/readyz") == "200" }) {
		notRun("/readyz not 200 within 30 s; " + e.unitLog(s.v, since, 15))
		return r
	}
	m := s.m
	// Connected to the manager(s) before the fixtures change, or their changes happen
	// unseen: how long that takes is part of the unit column.
	ready := time.Now()
	managers := []manager{m}
	if s.also != nil {
		managers = append(managers, *s.also)
	}
	connected := e.eventually(60*time.Second, "podexporter_systemd_up 1", func() bool {
		sc, err := e.scrapeMetrics()
		if err != nil {
			return false
		}
		for _, mm := range managers {
			if v, ok := sc.value("podexporter_systemd_up", map[string]string{"systemd_manager": mm.name}); !ok || v != 1 {
				return false
			}
		}
		return true
	})
	upAfter := fmt.Sprintf("podexporter_systemd_up 1 %.1f s after /readyz", time.Since(ready).Seconds())
	if !connected {
		var errs []string
		if sc, err := e.scrapeMetrics(); err == nil {
			for _, smp := range sc.get("podexporter_systemd_errors_total", nil) {
				errs = append(errs, fmt.Sprintf("%s/%s=%g", smp.labels["systemd_manager"], smp.labels["reason"], smp.value))
			}
		}
		upAfter = fmt.Sprintf("podexporter_systemd_up not 1 within 60 s of /readyz (errors_total %v): %s", errs, e.sourceLog(s.v, since, 4))
	}
	// The events the checks look at are those after this point.
	_, logOff := e.col.LogsFrom(0)
	if s.live {
		// Stopped and started again under this daemon: it sees every change as it
		// happens.
		var units []string
		for _, n := range fixtureUnits {
			units = append(units, m.unit(n))
		}
		script := fmt.Sprintf("%[1]s stop %[2]s; sleep 1; %[1]s reset-failed %[2]s 2>/dev/null; for u in %[2]s; do %[1]s start --no-block $u || exit 1; done; %[1]s list-jobs --no-legend",
			m.systemctl(), strings.Join(units, " "))
		out, err := e.in(m, script)
		if err != nil {
			notRun(fmt.Sprintf("stop and start the fixtures: %v %s", err, out))
			return r
		}
		t.Logf("service layer, %s: fixtures started again; jobs: %s", s.name, strings.ReplaceAll(out, "\n", "; "))
	}
	if why := e.fixturesSettled(m); why != "" {
		t.Logf("service layer, %s: the fixtures did not settle: %s; %s", s.name, why, e.fixtureLog(m, "crash", 12))
	}

	ok, detail := e.checkHealthyUnit(s)
	set("unit", ok && connected, "%s; %s", upAfter, detail)
	ok, detail = e.compareUnit(m, m.unit("noimage"))
	set("noimage", ok, "%s", detail)
	ok, detail = e.compareUnit(m, m.unit("crash"))
	set("crash", ok, "%s", detail)
	orphanOK, orphanDetail := e.checkOrphanMetric(m)

	// The stale check waits three intervals and more: it runs beside the others.
	var staleOK bool
	var staleDetail string
	var wg sync.WaitGroup
	if s.live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			staleOK, staleDetail = e.checkStaleLive(m)
		}()
	} else {
		staleOK, staleDetail = e.checkStaleNow(m)
	}
	ok, detail = e.checkHardening(m)
	set("hardening", ok, "%s", detail)
	if s.live {
		ok, detail = e.checkEvents(m, logOff)
		set("events", ok, "%s", detail)
	} else {
		na("events", "the fixtures changed before this daemon started; the rows above see them change")
	}
	wg.Wait()
	set("stale", staleOK, "%s", staleDetail)

	switch {
	case s.live:
		ok, detail = e.checkReexec(m, s.v, since)
		set("faults", ok, "%s", detail)
		// Logged once: counted after the re-exec and its re-read.
		ok, detail = e.checkOrphanLog(s, since)
		set("orphan", orphanOK && ok, "%s; %s", orphanDetail, detail)
	case s.refuses != nil:
		// Before the refusal check, which starts the daemon again.
		ok, detail = e.checkOrphanLog(s, since)
		set("orphan", orphanOK && ok, "%s; %s", orphanDetail, detail)
		ok, detail = e.checkRefused(*s.refuses, s.v, since)
		set("faults", ok, "%s", detail)
	}
	return r
}

// sourceLog is what the daemon logged of its systemd source since the given time, the
// last n lines.
func (e *e2e) sourceLog(v variant, since string, n int) string {
	var lines []string
	for _, l := range strings.Split(e.unitLog(v, since, 0), "\n") {
		if strings.Contains(l, "source=systemd") {
			lines = append(lines, shorten(l, 400))
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

// fixturesSettled waits until the fixtures are where they stay: the healthy one
// healthy, the crashing one failed after its restarts, the missing image failed, the
// other two running. It returns what is not, after 60 s.
func (e *e2e) fixturesSettled(m manager) string {
	want := map[string]string{"healthy": "active", "noimage": "failed", "crash": "failed", "hardened": "active", "exposed": "active"}
	var why string
	var last string
	e.eventually(60*time.Second, m.name+"'s fixtures settled", func() bool {
		var bad []string
		for _, n := range fixtureUnits {
			p := e.unitProps(m, m.unit(n), "ActiveState", "SubState", "NRestarts")
			if p["ActiveState"] != want[n] {
				bad = append(bad, fmt.Sprintf("%s %s/%s", m.unit(n), p["ActiveState"], p["SubState"]))
			}
		}
		health, _ := e.in(m, "podman inspect -f '{{.State.Health.Status}}' "+m.container("healthy"))
		if health != "healthy" {
			bad = append(bad, m.container("healthy")+" health "+health)
		}
		// The crashing unit is stable once two reads a second apart agree.
		p := e.unitProps(m, m.unit("crash"), "ActiveState", "NRestarts", "Result")
		now := fmt.Sprint(p)
		if now != last {
			bad = append(bad, m.unit("crash")+" still changing")
			last = now
		}
		why = strings.Join(bad, "; ")
		if len(bad) > 0 {
			time.Sleep(800 * time.Millisecond)
		}
		return len(bad) == 0
	})
	return why
}

// fixtureLog is the end of a fixture unit's journal.
func (e *e2e) fixtureLog(m manager, name string, n int) string {
	sel := "-u " + m.unit(name)
	if m.user {
		sel = fmt.Sprintf("_UID=%d --user-unit=%s", e2eUID, m.unit(name))
	}
	out, _ := e.h.Sh(fmt.Sprintf("journalctl --no-pager -o short-precise %s -n %d", sel, n))
	return out
}

// unitProps reads properties of a unit from its manager (systemctl show, as the
// manager's user).
func (e *e2e) unitProps(m manager, unit string, props ...string) map[string]string {
	out, _ := e.in(m, m.systemctl()+" show -p "+strings.Join(props, ",")+" "+unit)
	p := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			p[k] = v
		}
	}
	return p
}

// sample is one series of a scrape.
type sample struct {
	labels map[string]string
	value  float64
}

// exposition is /metrics, parsed: family name to series.
type exposition map[string][]sample

// scrapeMetrics reads the daemon's /metrics inside the systemd host.
func (e *e2e) scrapeMetrics() (exposition, error) {
	body, err := e.h.Exec("curl", "-s", "-m", "5", "http://127.0.0.1:9883/metrics")
	if err != nil {
		return nil, err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body + "\n"))
	if err != nil {
		return nil, err
	}
	s := exposition{}
	for name, f := range fams {
		for _, m := range f.Metric {
			smp := sample{labels: map[string]string{}}
			for _, l := range m.Label {
				smp.labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.Gauge != nil:
				smp.value = m.Gauge.GetValue()
			case m.Counter != nil:
				smp.value = m.Counter.GetValue()
			case m.Untyped != nil:
				smp.value = m.Untyped.GetValue()
			default:
				continue
			}
			s[name] = append(s[name], smp)
		}
	}
	return s, nil
}

// get returns the series of a family whose labels include match.
func (s exposition) get(name string, match map[string]string) []sample {
	var out []sample
	for _, smp := range s[name] {
		ok := true
		for k, v := range match {
			if smp.labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, smp)
		}
	}
	return out
}

// value is the one series of a family that matches; ok is false when none or several do.
func (s exposition) value(name string, match map[string]string) (float64, bool) {
	got := s.get(name, match)
	if len(got) != 1 {
		return math.NaN(), false
	}
	return got[0].value, true
}

// show renders a value that may be missing.
func show(v float64, ok bool) string {
	if !ok {
		return "absent"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// containerID is the id label podexporter gives a container, from its
// podman_container_info.
func (s exposition) containerID(name string) string {
	for _, smp := range s.get("podman_container_info", map[string]string{"name": name}) {
		return smp.labels["id"]
	}
	return ""
}

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

// inspected is what the checks read of podman inspect.
type inspected struct {
	ID              string `json:"Id"`
	Name            string
	ImageName       string
	ProcessLabel    string
	AppArmorProfile string
	EffectiveCaps   []string
	Config          struct {
		User        string
		Labels      map[string]string
		Healthcheck *struct {
			Test     []string
			Interval int64
			Timeout  int64
		}
	}
	HostConfig struct {
		ReadonlyRootfs bool
		Privileged     bool
		CapAdd         []string
		SecurityOpt    []string
		RestartPolicy  *struct{ Name string }
	}
	State struct {
		Running bool
		Health  *struct {
			Status string
			Log    []struct{ Start, End string }
		}
	}
}

func (e *e2e) inspect(m manager, name string) (*inspected, error) {
	out, err := e.in(m, "podman inspect "+name)
	if err != nil {
		return nil, err
	}
	var got []inspected
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 {
		return nil, fmt.Errorf("podman inspect %s: %v (%d containers)", name, err, len(got))
	}
	return &got[0], nil
}

// lastCheckEnd is when the container's newest health check ended.
func (c *inspected) lastCheckEnd() (time.Time, bool) {
	if c.State.Health == nil || len(c.State.Health.Log) == 0 {
		return time.Time{}, false
	}
	end := c.State.Health.Log[len(c.State.Health.Log)-1].End
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999 -0700 MST", "2006-01-02 15:04:05.999999999 -0700 -0700"} {
		if t, err := time.Parse(layout, end); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// staleLimit is when a running container's health is stale: three intervals plus the
// timeout after its last check.
func staleLimit() time.Duration { return 3*fixtureHealthInterval + fixtureHealthTimeout }

// healthSeries reads the healthy fixture's health series.
func (e *e2e) healthSeries(m manager, sc exposition) (stale, interval, last float64, staleOK, intervalOK, lastOK bool) {
	id := sc.containerID(m.container("healthy"))
	if id == "" {
		return math.NaN(), math.NaN(), math.NaN(), false, false, false
	}
	match := map[string]string{"id": id}
	stale, staleOK = sc.value("podman_container_health_check_stale", match)
	interval, intervalOK = sc.value("podman_container_health_interval_seconds", match)
	last, lastOK = sc.value("podman_container_health_last_check_timestamp_seconds", match)
	return
}

// checkStaleLive is column e: the healthy fixture's transient health-check timer
// (named after its container id) is stopped, and podman_container_health_check_stale
// must turn 1 once three intervals plus the timeout have passed since the last check,
// not before; until then it is 0.
func (e *e2e) checkStaleLive(m manager) (bool, string) {
	c, err := e.inspect(m, m.container("healthy"))
	if err != nil {
		return false, err.Error()
	}
	timers, _ := e.in(m, m.systemctl()+" list-timers --all --no-legend --plain")
	timer := regexp.MustCompile(`\b` + c.ID + `-[0-9a-f]+\.timer\b`).FindString(timers)
	if timer == "" {
		return false, fmt.Sprintf("no transient health-check timer for %s (%s) in list-timers:\n%s", c.Name, c.ID[:12], timers)
	}
	sc, err := e.scrapeMetrics()
	if err != nil {
		return false, "scrape: " + err.Error()
	}
	stale0, interval, _, stale0OK, intervalOK, _ := e.healthSeries(m, sc)
	wantInterval := float64(c.Config.Healthcheck.Interval) / 1e9
	if out, err := e.in(m, m.systemctl()+" stop "+timer); err != nil {
		return false, fmt.Sprintf("stop %s: %v %s", timer, err, out)
	}
	stopped := time.Now()
	// A check running as the timer stopped still ends: read the last one after it.
	time.Sleep(fixtureHealthTimeout + 500*time.Millisecond)
	c, err = e.inspect(m, m.container("healthy"))
	if err != nil {
		return false, err.Error()
	}
	lastEnd, ok := c.lastCheckEnd()
	if !ok {
		return false, fmt.Sprintf("podman inspect %s: no health log", c.Name)
	}
	deadline := lastEnd.Add(staleLimit() + staleGrace)
	var staleAt time.Time
	var lastSeen float64
	var lastSeenOK bool
	var lastTS float64
	var lastTSOK bool
	for time.Now().Before(deadline.Add(2 * time.Second)) {
		sc, err := e.scrapeMetrics()
		now := time.Now()
		if err == nil {
			lastSeen, _, lastTS, lastSeenOK, _, lastTSOK = e.healthSeries(m, sc)
			if lastSeenOK && lastSeen == 1 {
				staleAt = now
				break
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	lastTSDiff := "absent"
	if lastTSOK {
		lastTSDiff = fmt.Sprintf("%.1f s from inspect's", lastTS-float64(lastEnd.UnixNano())/1e9)
	}
	before := fmt.Sprintf("%s stopped; before: stale %s, interval %s s (inspect %g s); last check ended %s after the stop (last_check_timestamp %s)",
		timer[:12]+"...", show(stale0, stale0OK), show(interval, intervalOK), wantInterval,
		lastEnd.Sub(stopped).Round(100*time.Millisecond), lastTSDiff)
	if staleAt.IsZero() {
		return false, fmt.Sprintf("%s; stale still %s %.1f s after the last check (limit %s + %s)", before, show(lastSeen, lastSeenOK),
			time.Since(lastEnd).Seconds(), staleLimit(), staleGrace)
	}
	after := staleAt.Sub(lastEnd)
	ok = stale0OK && stale0 == 0 && intervalOK && interval == wantInterval &&
		after >= staleLimit()-time.Second && after <= staleLimit()+staleGrace
	return ok, fmt.Sprintf("%s; stale 1 at %.1f s after the last check (3 x %s + %s = %s; allowed up to %s more)",
		before, after.Seconds(), fixtureHealthInterval, fixtureHealthTimeout, staleLimit(), staleGrace)
}

// checkStaleNow compares the healthy fixture's staleness with what inspect says now
// (for a row that watches the fixtures after they changed).
func (e *e2e) checkStaleNow(m manager) (bool, string) {
	var detail string
	ok := e.eventually(20*time.Second, "stale as inspect says", func() bool {
		c, err := e.inspect(m, m.container("healthy"))
		if err != nil {
			detail = err.Error()
			return false
		}
		lastEnd, ok := c.lastCheckEnd()
		if !ok {
			detail = "no health log"
			return false
		}
		age := time.Since(lastEnd)
		if age > staleLimit()-time.Second && age < staleLimit()+staleGrace {
			detail = "at the limit"
			return false // too close to call
		}
		want := 0.0
		if c.State.Running && age > staleLimit() {
			want = 1
		}
		sc, err := e.scrapeMetrics()
		if err != nil {
			detail = "scrape: " + err.Error()
			return false
		}
		stale, _, _, staleOK, _, _ := e.healthSeries(m, sc)
		detail = fmt.Sprintf("last check %.0f s ago (limit %s): stale %s, want %g", age.Seconds(), staleLimit(), show(stale, staleOK), want)
		return staleOK && stale == want
	})
	return ok, detail
}

// hardeningChecks are podman_container_hardening_passed's check label values.
var hardeningChecks = []string{"rootless", "non_root_user", "read_only_rootfs", "not_privileged", "no_added_capabilities",
	"seccomp", "mac_confinement", "image_digest", "health_check", "restart_policy"}

// podmanDefaultCaps is Podman's default capability set (containers.conf
// default_capabilities): a capability beyond it was added.
var podmanDefaultCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
	"CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"}

// expectHardening computes each check from podman inspect, the Podman service's
// rootlessness and the container's unit's Restart=, on its own (not from podexporter).
func expectHardening(c *inspected, rootless bool, unitRestart string) map[string]bool {
	hc := c.HostConfig
	user, _, _ := strings.Cut(c.Config.User, ":")
	var added []string
	added = append(added, hc.CapAdd...)
	for _, cp := range c.EffectiveCaps {
		if !slices.Contains(podmanDefaultCaps, cp) {
			added = append(added, cp)
		}
	}
	labelOff := slices.Contains(hc.SecurityOpt, "label=disable")
	restart := hc.RestartPolicy != nil && hc.RestartPolicy.Name != "" && hc.RestartPolicy.Name != "no"
	return map[string]bool{
		"rootless":              rootless,
		"non_root_user":         user != "" && user != "0" && user != "root",
		"read_only_rootfs":      hc.ReadonlyRootfs,
		"not_privileged":        !hc.Privileged,
		"no_added_capabilities": len(added) == 0,
		// --privileged turns seccomp off as well, whatever SecurityOpt says.
		"seccomp":         !hc.Privileged && !slices.Contains(hc.SecurityOpt, "seccomp=unconfined"),
		"mac_confinement": !hc.Privileged && ((c.ProcessLabel != "" && !labelOff) || (c.AppArmorProfile != "" && c.AppArmorProfile != "unconfined")),
		"image_digest":    strings.Contains(c.ImageName, "@sha256:"),
		"health_check":    c.Config.Healthcheck != nil && len(c.Config.Healthcheck.Test) > 0 && c.Config.Healthcheck.Test[0] != "NONE",
		// Quadlet leaves restarting to systemd: the unit's Restart= counts.
		"restart_policy": restart || (unitRestart != "" && unitRestart != "no"),
	}
}

// checkHardening is column f: each hardening series of the two fixtures built to pass
// and to fail equals what the test computes from podman inspect.
func (e *e2e) checkHardening(m manager) (bool, string) {
	rootlessOut, _ := e.in(m, "podman info --format '{{.Host.Security.Rootless}}'")
	rootless := strings.TrimSpace(rootlessOut) == "true"
	type want struct {
		name string
		id   string
		exp  map[string]bool
	}
	var ws []want
	for _, n := range []string{"hardened", "exposed"} {
		c, err := e.inspect(m, m.container(n))
		if err != nil {
			return false, err.Error()
		}
		restart := e.unitProps(m, c.Config.Labels["PODMAN_SYSTEMD_UNIT"], "Restart")["Restart"]
		ws = append(ws, want{name: c.Name, id: c.ID, exp: expectHardening(c, rootless, restart)})
	}
	var detail string
	ok := e.eventually(20*time.Second, "the hardening series", func() bool {
		sc, err := e.scrapeMetrics()
		if err != nil {
			detail = "scrape: " + err.Error()
			return false
		}
		good := true
		var parts []string
		for _, w := range ws {
			id := sc.containerID(w.name)
			if id == "" || !strings.HasPrefix(w.id, id) {
				good = false
				parts = append(parts, fmt.Sprintf("%s: no podman_container_info", w.name))
				continue
			}
			var pass, bad []string
			for _, ck := range hardeningChecks {
				v, vOK := sc.value("podman_container_hardening_passed", map[string]string{"id": id, "check": ck})
				exp := 0.0
				if w.exp[ck] {
					exp = 1
					pass = append(pass, ck)
				}
				if !vOK || v != exp {
					bad = append(bad, fmt.Sprintf("%s %s, inspect says %g", ck, show(v, vOK), exp))
				}
			}
			var extra []string
			for _, smp := range sc.get("podman_container_hardening_passed", map[string]string{"id": id}) {
				if !slices.Contains(hardeningChecks, smp.labels["check"]) {
					extra = append(extra, smp.labels["check"])
				}
			}
			if len(bad) > 0 || len(extra) > 0 {
				good = false
			}
			p := fmt.Sprintf("%s passes %d/%d %v", w.name, len(pass), len(hardeningChecks), pass)
			if len(bad) > 0 {
				p += fmt.Sprintf(", differs from inspect: %v", bad)
			}
			if len(extra) > 0 {
				p += fmt.Sprintf(", unknown checks %v", extra)
			}
			parts = append(parts, p)
		}
		detail = strings.Join(parts, "; ")
		return good
	})
	if ok {
		detail += fmt.Sprintf("; all %d series equal to inspect", 2*len(hardeningChecks))
	}
	return ok, detail
}

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

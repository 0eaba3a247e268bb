//go:build systemd_e2e

package deploy

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

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

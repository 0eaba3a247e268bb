//go:build systemd_e2e

package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// column is one check of a table: its key in a row's cells and its heading.
type column struct{ key, title string }

// checks are the variant table's columns, in order.
var checks = []column{
	{"ready", "active only after READY=1"},
	{"metrics", "/metrics shows the containers"},
	{"logs", "logs reach the collector exactly once"},
	{"cgroup", "cgroup2 without controllers: limits as the files"},
	{"health", "podman healthcheck run"},
	{"kill", "kill -9: Restart= and the cursor resume"},
	{"stop", "systemctl stop within TimeoutStopSec"},
	{"eperm", "no EPERM, no denied syscall"},
	{"autoupdate", "podman auto-update --dry-run"},
}

// cell is one check's outcome; na marks a check that does not apply to the variant.
type cell struct {
	ok, na bool
	detail string
}

type row struct {
	variant string
	cells   map[string]cell
}

// run installs, starts, checks, stops and removes one variant. A check that fails is
// recorded in its cell; later checks still run where they can, so the table shows
// everything that holds and everything that does not.
func (e *e2e) run(v variant) row {
	t := e.t
	r := row{variant: v.name, cells: map[string]cell{}}
	// The Podman columns run beside the cgroup check, which mostly waits for a stats
	// round: set may be called from two goroutines.
	var mu sync.Mutex
	set := func(key string, ok bool, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		r.cells[key] = cell{ok: ok, detail: fmt.Sprintf(format, args...)}
		t.Logf("%s / %s: ok=%v %s", v.name, key, ok, r.cells[key].detail)
	}
	na := func(key, why string) { r.cells[key] = cell{ok: true, na: true, detail: why} }
	notRun := func(why string) {
		for _, c := range append(slices.Clone(checks), podmanChecks...) {
			mu.Lock()
			_, done := r.cells[c.key]
			mu.Unlock()
			if !done {
				set(c.key, false, "not run: %s", why)
			}
		}
	}
	t.Logf("=== %s", v.name)
	began := time.Now()
	defer func() { t.Logf("%s: %s", v.name, time.Since(began).Round(time.Second)) }()
	v.install(e)
	defer v.remove(e)
	tag := strings.TrimPrefix(testenv.UniqueName("x"), "podexporter-test-x-")
	loggers := []string{"log-" + tag + "-a", "log-" + tag + "-b", "log-" + tag + "-kill"}
	defer e.cleanupContainers(v, loggers...)
	seccompBefore := hostDmesgSeccomp()
	since := e.sh("date '+%Y-%m-%d %H:%M:%S'")

	// Type=notify: systemctl start returns once the unit is active, which systemd
	// allows only after READY=1. /readyz asked right then must already say ready.
	t0 := time.Now()
	out, err := e.as(v, systemctl(v)+" start "+v.unit)
	took := time.Since(t0)
	code := e.httpCode("/readyz")
	typ, act, sub := e.show(v, "Type"), e.show(v, "ActiveState"), e.show(v, "SubState")
	if err != nil {
		set("ready", false, "systemctl start: %v %s; %s", err, out, e.unitLog(v, since, 15))
		notRun("the unit did not start")
		return r
	}
	set("ready", typ == "notify" && act == "active" && sub == "running" && code == "200",
		"Type=%s; start returned after %.1f s with %s (%s); /readyz %s at that moment", typ, took.Seconds(), act, sub, code)
	identity := ""
	if !v.quadlet {
		identity = e.nativeIdentity(v)
	}

	// Two containers beside it, started after READY (--journal.start is tail).
	for _, n := range loggers[:2] {
		if err := e.logger(v, n, linesEach, ""); err != nil {
			set("metrics", false, "start %s: %v", n, err)
		}
	}
	if _, failed := r.cells["metrics"]; !failed {
		var body string
		seen := e.eventually(30*time.Second, "the loggers in /metrics", func() bool {
			body, _ = e.h.Exec("curl", "-s", "-m", "5", "http://127.0.0.1:9883/metrics")
			for _, n := range loggers[:2] {
				if !regexp.MustCompile(`(?m)^podman_container_info\{[^}]*name="` + regexp.QuoteMeta(n) + `"[^}]*\} 1$`).MatchString(body) {
					return false
				}
			}
			return true
		})
		detail := "podman_container_info of both loggers"
		// Series of a user's containers must say whose they are: the rootful
		// exporter's series on the same host carry podman_service="rootful".
		service := "rootful"
		if v.user {
			service = fmt.Sprintf("rootless-%d", e2eUID)
		}
		if seen {
			for _, n := range loggers[:2] {
				if !regexp.MustCompile(`(?m)^podman_container_info\{[^}]*name="` + regexp.QuoteMeta(n) + `"[^}]*podman_service="` + service + `"`).MatchString(body) {
					seen = false
					detail += fmt.Sprintf("; %s without podman_service=%q", n, service)
				}
			}
		}
		detail += fmt.Sprintf(", podman_service=%q", service)
		if strings.Contains(v.unit, "ebpf") {
			on := regexp.MustCompile(`(?m)^podexporter_ebpf_enabled 1$`).MatchString(body)
			seen = seen && on
			detail += fmt.Sprintf("; podexporter_ebpf_enabled 1: %v", on)
		}
		if !seen {
			detail += "; /metrics had: " + strings.Join(regexp.MustCompile(`(?m)^(podman_container_info\{[^}]*name="[^"]*"|podexporter_podman_up.*)`).FindAllString(body, -1), ", ")
			// What Podman's own CLI lists, to tell a podexporter fault from a Podman one.
			api, _ := e.as(v, "podman ps --format '{{.Names}} {{.Status}}' | tr '\\n' ';'")
			detail += "; podman ps: " + api
		}
		set("metrics", seen, "%s (within 30 s: %v)", detail, seen)
	}

	// Every line of both, once.
	e.eventually(60*time.Second, "the loggers' lines at the collector", func() bool {
		for _, n := range loggers[:2] {
			if m, _ := lineCounts(e.delivered(n), n, linesEach); m > 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(2 * time.Second) // a duplicate would arrive after the originals
	missing, dups := 0, 0
	for _, n := range loggers[:2] {
		m, d := lineCounts(e.delivered(n), n, linesEach)
		missing, dups = missing+m, dups+d
	}
	set("logs", missing == 0 && dups == 0, "%d of %d lines, %d duplicates", 2*linesEach-missing, 2*linesEach, dups)

	// The host's own Podman, as inspect, events and logs say, while this daemon runs;
	// beside the cgroup check, which spends most of its time waiting for a stats round.
	var podmanDone sync.WaitGroup
	podmanDone.Add(1)
	go func() {
		defer podmanDone.Done()
		e.podmanColumns(v, tag, set)
	}()
	cgOK, cgDetail := e.cgroupCheck(v, loggers[0], since)
	set("cgroup", cgOK, "%s", cgDetail)
	podmanDone.Wait()

	if v.quadlet {
		out, err := e.as(v, "podman healthcheck run podexporter")
		// Under systemd, Podman schedules HealthInterval= as a transient timer named
		// after the container's id (without systemd it cannot schedule checks at all).
		timers, _ := e.as(v, systemctl(v)+" list-timers --all --no-legend | grep -c \"$(podman inspect -f '{{.Id}}' podexporter)\"")
		set("health", err == nil && atoi(timers) > 0, "%s; %s transient healthcheck timer", orDefault(strings.TrimSpace(out+" "+errString(err)), "healthy (exit 0)"), orDefault(timers, "no"))
		out, err = e.as(v, "podman auto-update --dry-run --format '{{.Unit}} {{.Container}} {{.Policy}} {{.Updated}}'")
		listed := err == nil && regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(v.unit)+` `).MatchString(out)
		set("autoupdate", listed, "%s", orDefault(strings.TrimSpace(out+" "+errString(err)), "nothing listed"))
	} else {
		na("health", "no container (Type=notify with WatchdogSec=30s instead)")
		na("autoupdate", "not a container")
	}

	e.killCheck(v, loggers[2], set)
	strict := ""
	if !v.quadlet {
		loggers = append(loggers, "log-"+tag+"-strict")
		strict = e.strictSyscalls(v, loggers[3])
	}

	// systemctl stop: SIGTERM, and the unit must be down well before TimeoutStopSec.
	limit, _ := time.ParseDuration(strings.ReplaceAll(e.show(v, "TimeoutStopUSec"), "min", "m"))
	t0 = time.Now()
	out, err = e.as(v, systemctl(v)+" stop "+v.unit)
	took = time.Since(t0)
	act, res := e.show(v, "ActiveState"), e.show(v, "Result")
	set("stop", err == nil && act == "inactive" && res == "success" && limit > 0 && took < limit,
		"stopped in %.1f s (TimeoutStopSec %s), %s, Result=%s%s", took.Seconds(), limit, act, res, prefixed(" ", strings.TrimSpace(out+" "+errString(err))))

	// Anything the sandbox refused surfaces as EPERM/EACCES in what the daemon logged;
	// a seccomp kill or logged denial shows in the VM's kernel log.
	log := e.unitLog(v, since, 0)
	refused := regexp.MustCompile(`(?i)operation not permitted|permission denied|\beperm\b|eacces|bad system call|seccomp|audit`)
	var bad, known []string
	for _, l := range strings.Split(log, "\n") {
		switch {
		case !refused.MatchString(l):
		case strings.Contains(v.unit, "ebpf") && strings.Contains(l, "BPF run time statistics unavailable"):
			// BPF_ENABLE_STATS needs CAP_SYS_ADMIN, which the eBPF unit leaves out on
			// purpose (its comment says so); the daemon logs it once per start.
			known = append(known, "BPF_ENABLE_STATS (needs CAP_SYS_ADMIN, left out on purpose)")
		default:
			bad = append(bad, shorten(l, 300))
		}
	}
	seccompAfter := hostDmesgSeccomp()
	ok := len(bad) == 0 && seccompBefore >= 0 && seccompAfter == seccompBefore
	detail := fmt.Sprintf("%d refusals in the unit's journal %q, %d new seccomp audit records", len(bad), bad, seccompAfter-seccompBefore)
	if seccompBefore < 0 || seccompAfter < 0 {
		detail = fmt.Sprintf("%d refusals in the unit's journal %q; the VM's kernel log (dmesg) is unreadable", len(bad), bad)
	}
	if len(known) > 0 {
		detail += fmt.Sprintf("; expected: %dx %s", len(known), known[0])
	}
	for _, extra := range []string{identity, strict} {
		if extra != "" {
			ok = ok && !strings.HasPrefix(extra, "FAIL")
			detail += "; " + extra
		}
	}
	set("eperm", ok, "%s", detail)
	return r
}

// killCheck kills the daemon with SIGKILL while a container logs, and checks that
// Restart= brings it back and that the saved cursor resumes: nothing lost, at most
// one batch twice.
func (e *e2e) killCheck(v variant, logger string, set func(string, bool, string, ...any)) {
	restarts := atoi(e.show(v, "NRestarts"))
	pid := e.daemonPID(v)
	if err := e.logger(v, logger, killLines, "0.01"); err != nil {
		set("kill", false, "start %s: %v", logger, err)
		return
	}
	time.Sleep(2 * time.Second)
	if out, err := e.h.Sh("kill -9 " + pid); err != nil || atoi(pid) <= 1 {
		set("kill", false, "kill -9 %q: %v %s", pid, err, out)
		return
	}
	killed := time.Now()
	back := e.eventually(60*time.Second, "the restart after kill -9", func() bool {
		return atoi(e.show(v, "NRestarts")) > restarts && e.show(v, "ActiveState") == "active" &&
			e.httpCode("/readyz") == "200" && e.daemonPID(v) != pid
	})
	backAfter := time.Since(killed)
	e.eventually(90*time.Second, "every line of "+logger, func() bool {
		m, _ := lineCounts(e.delivered(logger), logger, killLines)
		return m == 0
	})
	time.Sleep(2 * time.Second)
	missing, dups := lineCounts(e.delivered(logger), logger, killLines)
	set("kill", back && missing == 0 && dups <= batchSize,
		"back (active, /readyz 200) %.1f s after the kill: %v, NRestarts %d -> %s; %d of %d lines, %d duplicates (limit: one batch, %d)",
		backAfter.Seconds(), back, restarts, e.show(v, "NRestarts"), killLines-missing, killLines, dups, batchSize)
}

// strictSyscalls runs the native unit once more with SystemCallErrorNumber= reset, so
// that a syscall outside SystemCallFilter= kills the daemon with SIGSYS (and the kernel
// logs it) instead of failing quietly with EPERM, while a container logs and /metrics
// is scraped; then it restores the unit as shipped. The shipped unit is stricter in
// no way: this only makes a denial visible.
func (e *e2e) strictSyscalls(v variant, logger string) string {
	const dropin = "/etc/systemd/system/podexporter.service.d/strict-syscalls.conf"
	defer func() {
		_, _ = e.h.Sh("rm -f " + dropin + " && systemctl daemon-reload && systemctl restart " + v.unit)
	}()
	if out, err := e.h.Sh(fmt.Sprintf("printf '[Service]\\nSystemCallErrorNumber=\\n' > %s && systemctl daemon-reload && systemctl restart %s", dropin, v.unit)); err != nil {
		return fmt.Sprintf("FAIL: restart with SystemCallErrorNumber= reset: %v %s", err, out)
	}
	pid, restarts := e.daemonPID(v), e.show(v, "NRestarts")
	if err := e.logger(v, logger, linesEach, ""); err != nil {
		return fmt.Sprintf("FAIL: start %s: %v", logger, err)
	}
	e.eventually(60*time.Second, "the strict run's lines", func() bool {
		m, _ := lineCounts(e.delivered(logger), logger, linesEach)
		return m == 0
	})
	metrics := e.httpCode("/metrics")
	missing, _ := lineCounts(e.delivered(logger), logger, linesEach)
	if e.show(v, "ActiveState") != "active" || e.daemonPID(v) != pid || e.show(v, "NRestarts") != restarts || missing > 0 || metrics != "200" {
		return fmt.Sprintf("FAIL: with denied syscalls killing: %s, pid %s -> %s, %d of %d lines, /metrics %s; %s",
			e.show(v, "ActiveState"), pid, e.daemonPID(v), linesEach-missing, linesEach, metrics, e.unitLog(v, "-1min", 5))
	}
	// The shutdown path too: a SIGSYS there would show as Result=signal.
	if out, err := e.h.Sh("systemctl stop " + v.unit); err != nil || e.show(v, "Result") != "success" {
		return fmt.Sprintf("FAIL: stop with denied syscalls killing: %v %s, Result=%s", err, out, e.show(v, "Result"))
	}
	return fmt.Sprintf("with SystemCallErrorNumber= reset (a denied syscall is SIGSYS) it started, shipped %d lines, served /metrics and stopped cleanly", linesEach)
}

// nativeIdentity checks what the native unit's hardening gave the running daemon: its
// user, no capabilities, an active seccomp filter, a read-only /usr.
func (e *e2e) nativeIdentity(v variant) string {
	pid := e.daemonPID(v)
	out, err := e.h.Sh(fmt.Sprintf(`ps -o user= -p %[1]s; grep -E '^(CapEff|Seccomp):' /proc/%[1]s/status | tr -s '\t ' ' ' | tr '\n' ' '; echo; findmnt -N %[1]s -no OPTIONS -T /usr | cut -d, -f1`, pid))
	if err != nil {
		return fmt.Sprintf("FAIL: %v", err)
	}
	f := strings.Fields(strings.ReplaceAll(out, "\n", " "))
	// user CapEff: 0000000000000000 Seccomp: 2 ro
	if len(f) != 6 || f[0] != "podexporter" || f[2] != "0000000000000000" || f[4] != "2" || f[5] != "ro" {
		return fmt.Sprintf("FAIL: identity %q (want user podexporter, CapEff 0, Seccomp 2, /usr ro)", out)
	}
	return "runs as podexporter, CapEff 0, seccomp filter on, /usr read-only"
}

// unitLog is the variant's journal since the given time, at most the last n lines
// (0: all).
func (e *e2e) unitLog(v variant, since string, n int) string {
	sel := "-u " + v.unit
	if v.user {
		sel = fmt.Sprintf("_UID=%d _SYSTEMD_USER_UNIT=%s", e2eUID, v.unit)
	}
	cmd := fmt.Sprintf("journalctl --no-pager -o cat --since '%s' %s", since, sel)
	if n > 0 {
		cmd += fmt.Sprintf(" | tail -n %d", n)
	}
	out, _ := e.h.Sh(cmd)
	return out
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

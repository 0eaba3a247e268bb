//go:build systemd_e2e

package deploy

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The service layer's container checks: stale health checks and the hardening
// series, against podman inspect.

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

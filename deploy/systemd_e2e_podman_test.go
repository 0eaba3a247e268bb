//go:build systemd_e2e

package deploy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
)

// The Podman columns: what podexporter reports of the host's own Podman (rootful, or
// the user's for the rootless variant) against what that Podman says itself: podman
// inspect, podman pod inspect, podman events and podman logs. The fixtures are made
// while the variant's daemon runs, so it sees each change as it happens.

// podmanChecks are the Podman table's columns.
var podmanChecks = []column{
	{"pstate", "container state as podman inspect"},
	{"phealth", "health as inspect, health_status events once"},
	{"pexit", "exit code as inspect, the died event once"},
	{"ppod", "pod state and containers as podman pod inspect"},
	{"plogs", "an exited container's output once, as podman logs"},
}

// exitCode is what the exiting fixture exits with; exitLines what it writes first.
const (
	exitCode  = 3
	exitLines = 50
)

// helpValues reads a family's documented value table, "(-1=unknown,0=created,...)",
// from its help text: the test holds podexporter to what docs/metrics.md promises,
// not to the code's own mapping.
func helpValues(m *catalog.Metric) map[string]float64 {
	out := map[string]float64{}
	for _, kv := range regexp.MustCompile(`(-?\d+)=([a-z]+)`).FindAllStringSubmatch(m.Help, -1) {
		n, _ := strconv.ParseFloat(kv[1], 64)
		out[kv[2]] = n
	}
	return out
}

// podmanInspected is what the Podman columns read of podman inspect.
type podmanInspected struct {
	Name  string
	State struct {
		Status   string
		ExitCode int
		Health   *struct {
			Status        string
			FailingStreak int
		}
	}
}

// podInspected is what they read of podman pod inspect.
type podInspected struct {
	ID            string `json:"Id"`
	Name          string
	State         string
	NumContainers int
}

// podmanEvent is one line of podman events --format json (the health status is
// spelt health_status there).
type podmanEvent struct {
	Name              string
	Status            string
	ContainerExitCode *int
	HealthStatus      string `json:"health_status"`
}

// podmanFixtures are one variant's fixture names.
type podmanFixtures struct {
	prefix                                       string
	running, created, exited, healthy, unhealthy string
	pods                                         []string // running, created, exited
	podMember                                    []string // the containers started in pods
}

func newPodmanFixtures(tag string) podmanFixtures {
	p := "pm-" + tag + "-"
	return podmanFixtures{prefix: p, running: p + "run", created: p + "created", exited: p + "exit", healthy: p + "healthy", unhealthy: p + "unhealthy",
		pods: []string{p + "pod-run", p + "pod-created", p + "pod-exited"}, podMember: []string{p + "pod-run-c", p + "pod-exited-c"}}
}

func (f podmanFixtures) containers() []string {
	return append([]string{f.running, f.created, f.exited, f.healthy, f.unhealthy}, f.podMember...)
}

// podmanColumns makes the fixtures under the variant's Podman, fills the Podman
// columns and removes the fixtures.
func (e *e2e) podmanColumns(v variant, tag string, set func(string, bool, string, ...any)) {
	f := newPodmanFixtures(tag)
	defer func() {
		_, _ = e.as(v, fmt.Sprintf("podman rm -f -t 0 %s >/dev/null 2>&1; podman pod rm -f -t 0 %s >/dev/null 2>&1; true",
			strings.Join(f.containers(), " "), strings.Join(f.pods, " ")))
	}()
	since, _ := e.as(v, "date +%s")
	img := testenv.Image
	// Host network throughout: the rootless user has no pasta or slirp4netns here.
	// The health checks are run by hand (their timers are an hour apart), so that
	// each status change is the test's. A pod's infra container is Podman's own
	// (catatonit).
	script := fmt.Sprintf(`set -e
podman run -d --name %[2]s --network host %[1]s sleep 3600 >/dev/null
podman create --name %[3]s --network host %[1]s sleep 1 >/dev/null
podman run -d --name %[4]s --network host %[1]s sh -c 'i=1; while [ $i -le %[10]d ]; do echo "%[4]s line $i"; i=$((i+1)); done; exit %[11]d' >/dev/null
podman run -d --name %[5]s --network host --health-cmd 'exit 0' --health-interval 1h %[1]s sleep 3600 >/dev/null
podman run -d --name %[6]s --network host --health-cmd 'exit 1' --health-retries 1 --health-interval 1h %[1]s sleep 3600 >/dev/null
podman pod create --name %[7]s --network host >/dev/null
podman run -d --pod %[7]s --name %[7]s-c %[1]s sleep 3600 >/dev/null
podman pod create --name %[8]s --network host >/dev/null
podman pod create --name %[9]s --network host >/dev/null
podman run -d --pod %[9]s --name %[9]s-c %[1]s sleep 3600 >/dev/null
podman pod stop -t 0 %[9]s >/dev/null
podman wait %[4]s >/dev/null
podman healthcheck run %[5]s
podman healthcheck run %[6]s || true
podman healthcheck run %[6]s || true`,
		img, f.running, f.created, f.exited, f.healthy, f.unhealthy, f.pods[0], f.pods[1], f.pods[2], exitLines, exitCode)
	if out, err := e.as(v, script); err != nil {
		for _, c := range podmanChecks {
			set(c.key, false, "make the fixtures: %v %s", err, shorten(out, 300))
		}
		return
	}

	// State, health, exit code and pods: equal to inspect, read around each scrape.
	stateOf, healthOf := helpValues(catalog.ContainerState), helpValues(catalog.ContainerHealth)
	podStateOf := helpValues(catalog.PodState)
	var stateDetail, healthDetail, exitDetail, podDetail string
	var stateOK, healthOK, exitOK, podOK bool
	e.eventually(30*time.Second, "the Podman fixtures in /metrics as inspect says", func() bool {
		cs, err := e.inspectAll(v, f.containers())
		if err != nil {
			stateDetail = err.Error()
			return false
		}
		pods, err := e.podInspectAll(v, f.pods)
		if err != nil {
			podDetail = err.Error()
			return false
		}
		sc, err := e.scrapeMetrics()
		if err != nil {
			stateDetail = "scrape: " + err.Error()
			return false
		}
		metric := func(m *catalog.Metric, name string) (float64, bool) {
			id := sc.containerID(name)
			if id == "" {
				return 0, false
			}
			return sc.value(m.Name, map[string]string{"id": id})
		}
		// state: every fixture container.
		stateOK = true
		var parts []string
		for _, name := range f.containers() {
			c := cs[name]
			want, known := stateOf[c.State.Status]
			got, gotOK := metric(catalog.ContainerState, name)
			if !known || !gotOK || got != want {
				stateOK = false
			}
			parts = append(parts, fmt.Sprintf("%s %s=%s", strings.TrimPrefix(name, f.prefix), c.State.Status, show(got, gotOK)))
		}
		stateDetail = "inspect=metric: " + strings.Join(parts, ", ")

		// health: the healthy and the unhealthy one, status and failing streak.
		healthOK = true
		parts = parts[:0]
		for _, name := range []string{f.healthy, f.unhealthy} {
			c := cs[name]
			status, streak := "none", 0
			if c.State.Health != nil {
				status, streak = c.State.Health.Status, c.State.Health.FailingStreak
			}
			want, known := healthOf[status]
			got, gotOK := metric(catalog.ContainerHealth, name)
			fs, fsOK := metric(catalog.ContainerHealthFailingStreak, name)
			if !known || !gotOK || got != want || !fsOK || int(fs) != streak {
				healthOK = false
			}
			parts = append(parts, fmt.Sprintf("%s: inspect %s (streak %d), metric %s (streak %s)",
				strings.TrimPrefix(name, f.prefix), status, streak, show(got, gotOK), show(fs, fsOK)))
		}
		healthOK = healthOK && cs[f.healthy].State.Health != nil && cs[f.healthy].State.Health.Status == "healthy" &&
			cs[f.unhealthy].State.Health != nil && cs[f.unhealthy].State.Health.Status == "unhealthy"
		healthDetail = strings.Join(parts, "; ")

		// exit code.
		ec, ecOK := metric(catalog.ContainerExitCode, f.exited)
		x := cs[f.exited]
		exitOK = ecOK && int(ec) == x.State.ExitCode && x.State.ExitCode == exitCode
		exitDetail = fmt.Sprintf("inspect %s exit code %d, podman_container_exit_code %s", x.State.Status, x.State.ExitCode, show(ec, ecOK))

		// pods.
		podOK = true
		parts = parts[:0]
		for _, name := range f.pods {
			p := pods[name]
			lm := map[string]string{"id": shortID(p.ID)}
			want, known := podStateOf[strings.ToLower(p.State)]
			got, gotOK := sc.value(catalog.PodState.Name, lm)
			n, nOK := sc.value(catalog.PodContainers.Name, lm)
			if !known || !gotOK || got != want || !nOK || int(n) != p.NumContainers {
				podOK = false
			}
			parts = append(parts, fmt.Sprintf("%s %s=%s, %d containers=%s", strings.TrimPrefix(name, f.prefix), p.State, show(got, gotOK), p.NumContainers, show(n, nOK)))
		}
		podDetail = "pod inspect=metric: " + strings.Join(parts, ", ")
		return stateOK && healthOK && exitOK && podOK
	})
	set("pstate", stateOK, "%s", stateDetail)
	set("ppod", podOK, "%s", podDetail)

	// Events: Podman's own (podman events) against what podexporter sent.
	evOK, evDetail := e.compareEvents(v, f, since)
	set("phealth", healthOK && evOK["health"], "%s; %s", healthDetail, evDetail["health"])
	set("pexit", exitOK && evOK["died"], "%s; %s", exitDetail, evDetail["died"])

	// Logs: the exited container's output at the collector once, and the same lines
	// as podman logs shows.
	var logsDetail string
	logsOK := e.eventually(30*time.Second, f.exited+"'s lines at the collector", func() bool {
		m, _ := lineCounts(e.delivered(f.exited), f.exited, exitLines)
		return m == 0
	})
	time.Sleep(time.Second) // a duplicate would come after
	// Its log records only: its container.* events share its resource.
	got := map[string]int{}
	for _, r := range e.col.Logs() {
		if n, _ := r.Resource["container.name"].(string); n == f.exited && eventName(r) == "" {
			got[r.Body]++
		}
	}
	missing, dups := lineCounts(got, f.exited, exitLines)
	plogs, err := e.as(v, "podman logs "+f.exited)
	podmanLines := strings.Split(strings.TrimSpace(plogs), "\n")
	same := err == nil && len(podmanLines) == len(got)
	var differ []string
	for _, l := range podmanLines {
		if got[l] != 1 {
			same = false
			differ = append(differ, fmt.Sprintf("%q sent %d times", shorten(l, 80), got[l]))
		}
	}
	logsDetail = fmt.Sprintf("%d of %d lines, %d duplicates; podman logs shows %d lines, %d records sent, the same: %v", exitLines-missing, exitLines, dups, len(podmanLines), len(got), same)
	if len(differ) > 0 {
		logsDetail += fmt.Sprintf(" (%d differ, first %s)", len(differ), differ[0])
	}
	if err != nil {
		logsDetail += fmt.Sprintf(" (podman logs: %v)", err)
	}
	set("plogs", logsOK && missing == 0 && dups == 0 && same, "%s", logsDetail)
}

// inspectAll runs podman inspect on the named containers, by name.
func (e *e2e) inspectAll(v variant, names []string) (map[string]podmanInspected, error) {
	out, err := e.as(v, "podman container inspect "+strings.Join(names, " "))
	if err != nil {
		return nil, fmt.Errorf("podman inspect: %v", err)
	}
	var list []podmanInspected
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, fmt.Errorf("podman inspect: %v", err)
	}
	m := map[string]podmanInspected{}
	for _, c := range list {
		m[strings.TrimPrefix(c.Name, "/")] = c
	}
	return m, nil
}

// podInspectAll runs podman pod inspect on each pod (Podman 5 answers a list, 4.x an
// object).
func (e *e2e) podInspectAll(v variant, names []string) (map[string]podInspected, error) {
	m := map[string]podInspected{}
	for _, n := range names {
		out, err := e.as(v, "podman pod inspect "+n)
		if err != nil {
			return nil, fmt.Errorf("podman pod inspect %s: %v", n, err)
		}
		var list []podInspected
		if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
			var one podInspected
			if err := json.Unmarshal([]byte(out), &one); err != nil {
				return nil, fmt.Errorf("podman pod inspect %s: %v", n, err)
			}
			list = []podInspected{one}
		}
		m[n] = list[0]
	}
	return m, nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// compareEvents holds podexporter's container.died and container.health_status
// records against podman events since the fixtures were made: one died event with
// the exit code Podman's died event carries, and one health_status record per change
// of status in Podman's health_status events (Podman sends one per check;
// podexporter one per change).
func (e *e2e) compareEvents(v variant, f podmanFixtures, since string) (map[string]bool, map[string]string) {
	ok, detail := map[string]bool{}, map[string]string{}
	podmanEvents := func(name, event string) ([]podmanEvent, error) {
		out, err := e.as(v, fmt.Sprintf("podman events --stream=false --since %s --filter container=%s --filter event=%s --format json", since, name, event))
		if err != nil {
			return nil, err
		}
		var evs []podmanEvent
		for _, l := range strings.Split(out, "\n") {
			if strings.TrimSpace(l) == "" {
				continue
			}
			var ev podmanEvent
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				return nil, fmt.Errorf("%v in %q", err, shorten(l, 200))
			}
			evs = append(evs, ev)
		}
		return evs, nil
	}
	records := func(name, event string) []otelcoltest.LogRecord {
		var out []otelcoltest.LogRecord
		for _, r := range e.col.Logs() {
			if n, _ := r.Resource["container.name"].(string); n == name && eventName(r) == event {
				out = append(out, r)
			}
		}
		return out
	}
	e.eventually(20*time.Second, "the fixtures' events at the collector", func() bool {
		return len(records(f.exited, "container.died")) > 0 && len(records(f.healthy, "container.health_status")) > 0 &&
			len(records(f.unhealthy, "container.health_status")) > 0
	})
	time.Sleep(time.Second) // a duplicate would come after

	died, err := podmanEvents(f.exited, "died")
	recs := records(f.exited, "container.died")
	var podmanCode, sentCode []string
	for _, ev := range died {
		if ev.ContainerExitCode != nil {
			podmanCode = append(podmanCode, strconv.Itoa(*ev.ContainerExitCode))
		} else {
			podmanCode = append(podmanCode, "none")
		}
	}
	for _, r := range recs {
		sentCode = append(sentCode, fmt.Sprint(r.Attributes["container.exit_code"]))
	}
	ok["died"] = err == nil && len(died) == 1 && len(recs) == 1 && slices.Equal(podmanCode, sentCode)
	detail["died"] = fmt.Sprintf("podman events: %d died %v; sent: %d container.died %v", len(died), podmanCode, len(recs), sentCode)
	if err != nil {
		detail["died"] += fmt.Sprintf(" (podman events: %v)", err)
	}

	ok["health"] = true
	var parts []string
	for _, name := range []string{f.healthy, f.unhealthy} {
		evs, err := podmanEvents(name, "health_status")
		var changes []string
		for _, ev := range evs {
			if len(changes) == 0 || changes[len(changes)-1] != ev.HealthStatus {
				changes = append(changes, ev.HealthStatus)
			}
		}
		var sent []string
		for _, r := range records(name, "container.health_status") {
			sent = append(sent, fmt.Sprint(r.Attributes["container.health.status"]))
		}
		if err != nil || len(evs) == 0 || !slices.Equal(changes, sent) {
			ok["health"] = false
		}
		p := fmt.Sprintf("%s: podman events %d health_status, changes %v; sent %v", strings.TrimPrefix(name, f.prefix), len(evs), changes, sent)
		if err != nil {
			p += fmt.Sprintf(" (podman events: %v)", err)
		}
		parts = append(parts, p)
	}
	detail["health"] = strings.Join(parts, "; ")
	return ok, detail
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
)

// podmanEvent is one line of `podman events --format json`.
type podmanEvent struct {
	Name   string `json:"Name"`
	Status string `json:"Status"`
	Type   string `json:"Type"`
}

// referenceEvents returns, by container name, the lifecycle statuses `podman events`
// of one service shows since t: the independent count the records are held to.
func referenceEvents(t *testing.T, run func(args ...string) (string, error), since time.Time, names []string) map[string][]string {
	t.Helper()
	args := []string{"events", "--stream=false", "--format", "json", "--filter", "type=container",
		"--since", since.Format(time.RFC3339Nano), "--until", time.Now().Add(time.Second).Format(time.RFC3339Nano)}
	out, err := run(args...)
	if err != nil {
		t.Fatalf("podman %v: %v: %s", args, err, out)
	}
	got := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var ev podmanEvent
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("podman events output: %v: %s", err, out)
		}
		if slices.Contains(names, ev.Name) && lifecycleStatuses[ev.Status] {
			got[ev.Name] = append(got[ev.Name], ev.Status)
		}
	}
	return got
}

// lifecycleStatuses are the Podman event statuses podexporter passes on as they come.
var lifecycleStatuses = map[string]bool{"start": true, "died": true, "stop": true, "pause": true, "unpause": true, "restart": true, "remove": true}

// cliRunner runs the podman CLI of a test service, as rootfulPodman does.
func cliRunner(p *testenv.Podman) func(args ...string) (string, error) {
	return func(args ...string) (string, error) {
		var stderr bytes.Buffer
		c := p.Command(args...)
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			return stderr.String(), err
		}
		return string(out), nil
	}
}

// rootfulPodman runs the Debian Podman CLI, the rootful 4.3 service's.
var rootfulPodman = cliRunner(&testenv.Podman{CLI: "podman"})

// TestEventsOncePerService runs one daemon against the rootful Podman 4.3 service, the
// rootful Podman 5 one beside it, and a rootless user's, whose user may read the whole
// journal (systemd-journal), as on many hosts. Rootful services, and rootless ones
// before Podman 4.4, then show each other's container events in their own streams.
// Each container's events must arrive exactly once, on the resource of the service
// that owns the container, and as many as that service's `podman events` lists.
func TestEventsOncePerService(t *testing.T) {
	testenv.RequireJournald(t)
	ps := testenv.RequirePodmanServices(t)
	p, p5 := ps[0], ps[len(ps)-1]
	rl := testenv.RequireRootlessPodman(t)
	c := otelcoltest.StartCollector(t)
	since := time.Now().Add(-time.Second)
	d := startDaemon(t, nil, "--podman.socket="+p.Socket, "--podman.socket="+p5.Socket, "--podman.socket="+rl.Socket,
		"--otlp.endpoint="+c.HTTPEndpoint, "--otlp.protocol=http/protobuf", "--journal.start=tail",
		"--podman.stats-interval=1s")
	awaitSubscribed(t, d, "rootful", p5.Socket, fmt.Sprintf("rootless-%d", rl.UID))

	rootful := map[string]string{} // name -> what it does
	exited := testenv.UniqueName("ev-exit")
	p.Run(t, exited, nil, "sh", "-c", "sleep 0.5; exit 7")
	rootful[exited] = "exits 7"
	restarter := testenv.UniqueName("ev-restart")
	p.Run(t, restarter, []string{"--restart", "on-failure:2"}, "sh", "-c", "sleep 0.3; exit 1")
	rootful[restarter] = "restarted twice"
	sick := testenv.UniqueName("ev-sick")
	p.Run(t, sick, []string{"--health-cmd", "test ! -f /bad", "--health-interval", "1h", "--health-retries", "1"}, "sh", "-c", "touch /bad; sleep 600")
	rootful[sick] = "unhealthy"
	oom := testenv.UniqueName("ev-oom")
	p.Run(t, oom, []string{"--memory", "16m", "--memory-swap", "16m"}, "sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); sleep 600")
	rootful[oom] = "OOM-killed"
	removed := testenv.UniqueName("ev-rm")
	p.Run(t, removed, nil, "sh", "-c", "sleep 0.3")
	rootful[removed] = "removed"
	rootless := map[string]string{}
	rlExited := testenv.UniqueName("ev-rl-exit")
	rl.Run(t, rlExited, nil, "sh", "-c", "sleep 0.5; exit 3")
	rootless[rlExited] = "exits 3"
	rlRemoved := testenv.UniqueName("ev-rl-rm")
	rl.Run(t, rlRemoved, nil, "sh", "-c", "sleep 0.3")
	rootless[rlRemoved] = "removed"

	// The change to unhealthy is an event only for a container podexporter has seen
	// in another state first.
	testenv.Eventually(t, 20*time.Second, sick+" in the snapshot", func() bool {
		return !math.IsNaN(scrapeValue(t, d.addr, "podman_container_info", map[string]string{"name": sick, "podman_service": "rootful"}))
	})
	_ = exec.Command("podman", "healthcheck", "run", sick).Run()
	testenv.Eventually(t, 30*time.Second, "the containers to finish", func() bool {
		out, _ := rootfulPodman("inspect", "--format", "{{.State.Status}} {{.RestartCount}}", exited, restarter, oom, removed)
		f := strings.Fields(out)
		return len(f) == 8 && f[0] == "exited" && f[2] == "exited" && f[3] == "2" && f[4] == "exited" && f[6] == "exited"
	})
	if out, err := exec.Command("podman", "rm", removed).CombinedOutput(); err != nil {
		t.Fatalf("podman rm: %v %s", err, out)
	}
	testenv.Eventually(t, 30*time.Second, "the rootless containers to finish", func() bool {
		out, _ := rl.Podman("inspect", "--format", "{{.State.Status}}", rlExited, rlRemoved)
		return strings.Count(out, "exited") == 2
	})
	if out, err := rl.Podman("rm", rlRemoved); err != nil {
		t.Fatalf("podman rm (rootless): %v %s", err, out)
	}

	v5 := map[string]string{}
	v5Exited := testenv.UniqueName("ev-v5-exit")
	p5.Run(t, v5Exited, nil, "sh", "-c", "sleep 0.5; exit 5")
	v5[v5Exited] = "exits 5"
	v5Removed := testenv.UniqueName("ev-v5-rm")
	p5.Run(t, v5Removed, nil, "sh", "-c", "sleep 0.3")
	v5[v5Removed] = "removed"
	testenv.Eventually(t, 30*time.Second, "the Podman 5 containers to finish", func() bool {
		out, _ := p5.Command("inspect", "--format", "{{.State.Status}}", v5Exited, v5Removed).Output()
		return strings.Count(string(out), "exited") == 2
	})
	p5.Output(t, "rm", v5Removed)

	// The precondition of the test: the rootless service's own stream shows the
	// rootful containers' events (Podman 4.3 and a user who may read the journal).
	crossTalk := referenceEvents(t, rl.Podman, since, []string{exited})
	if len(crossTalk[exited]) == 0 {
		t.Logf("the rootless service does not list the rootful containers' events (Podman >= 4.4 or a journal its user cannot read): only the counts are checked")
	}

	services := []struct {
		service string
		names   map[string]string
		run     func(args ...string) (string, error)
	}{
		{"rootful", rootful, rootfulPodman},
		{fmt.Sprintf("rootless-%d", rl.UID), rootless, rl.Podman},
		{p5.Socket, v5, cliRunner(p5)},
	}
	for _, s := range services {
		names := make([]string, 0, len(s.names))
		for n := range s.names {
			names = append(names, n)
		}
		want := awaitEvents(t, c, d, names, func() map[string][]string { return referenceEvents(t, s.run, since, names) })
		for _, n := range names {
			recs := eventRecords(c, n, "")
			var got []string
			for _, r := range recs {
				if r.Resource["podman.service"] != s.service {
					t.Errorf("%s (%s): %s on the resource of %v, want %s", n, s.names[n], r.EventName, r.Resource["podman.service"], s.service)
				}
				if a := strings.TrimPrefix(r.EventName, "container."); lifecycleStatuses[a] {
					got = append(got, a)
				}
			}
			slices.Sort(got)
			slices.Sort(want[n])
			if !slices.Equal(got, want[n]) {
				t.Errorf("%s (%s, %s): records %v, podman events %v", n, s.names[n], s.service, got, want[n])
			} else {
				t.Logf("%s (%s, %s): %d records, as podman events lists: %v", n, s.names[n], s.service, len(got), got)
			}
		}
	}

	// The snapshots: each container under its own service only.
	for _, s := range services {
		for n := range s.names {
			if n == removed || n == rlRemoved || n == v5Removed {
				continue
			}
			for _, other := range services {
				v := scrapeValue(t, d.addr, "podman_container_info", map[string]string{"name": n, "podman_service": other.service})
				if has := !math.IsNaN(v); has != (other.service == s.service) {
					t.Errorf("%s (%s's) in %s's snapshot: %v", n, s.service, other.service, has)
				}
			}
		}
	}

	// Derived events, once each.
	testenv.Eventually(t, 20*time.Second, "the unhealthy event", func() bool {
		return len(eventRecords(c, sick, "container.health_status")) > 0
	})
	testenv.Eventually(t, 20*time.Second, "the OOM event", func() bool {
		return len(eventRecords(c, oom, "container.oom")) > 0
	})
	time.Sleep(2 * time.Second)
	if n := len(eventRecords(c, sick, "container.health_status")); n != 1 {
		t.Errorf("%d container.health_status records for one change to unhealthy", n)
	}
	if n := len(eventRecords(c, oom, "container.oom")); n != 1 {
		t.Errorf("%d container.oom records for one OOM kill", n)
	}
}

// awaitSubscribed waits until the daemon's engine of each named service is connected:
// an engine subscribes to the service's events before it publishes its first
// snapshot, so every event from then on reaches it.
func awaitSubscribed(t *testing.T, d *daemonProc, services ...string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, fmt.Sprintf("podexporter_podman_up 1 for %v", services), func() bool {
		for _, s := range services {
			if scrapeValue(t, d.addr, "podexporter_podman_up", map[string]string{"podman_service": s}) != 1 {
				return false
			}
		}
		return true
	})
}

// Waiting for events: as long as something moves (a record arrives, podman events
// lists one more), up to eventsWaitLimit; eventsQuiet without either means what is
// missing is not coming.
const (
	eventsQuiet     = 20 * time.Second
	eventsWaitLimit = 2 * time.Minute
)

// awaitEvents waits until the collector holds, for each named container, at least as
// many event records as the reference lists, then a little longer so that a
// duplicate would show; it returns the reference. When records stop coming short of
// it, the failure says per container what podman events lists and what arrived, and
// what the daemon counted (events left out as another service's, export failures).
func awaitEvents(t *testing.T, c *otelcoltest.Collector, d *daemonProc, names []string, reference func() map[string][]string) map[string][]string {
	t.Helper()
	start := time.Now()
	moved, last := start, ""
	for {
		want := reference()
		got := map[string][]string{}
		complete := true
		for _, n := range names {
			for _, r := range eventRecords(c, n, "") {
				got[n] = append(got[n], fmt.Sprintf("%s@%v", strings.TrimPrefix(r.EventName, "container."), r.Resource["podman.service"]))
			}
			complete = complete && len(got[n]) >= len(want[n])
		}
		if complete {
			time.Sleep(2 * time.Second)
			return want
		}
		if now := fmt.Sprint(want, got); now != last {
			moved, last = time.Now(), now
		}
		if time.Since(moved) > eventsQuiet || time.Since(start) > eventsWaitLimit {
			var b strings.Builder
			for _, n := range names {
				if len(got[n]) < len(want[n]) {
					fmt.Fprintf(&b, "\n  %s: podman events lists %v, the collector has %v", n, want[n], got[n])
				}
			}
			t.Fatalf("events missing at the collector, nothing new for %s (%s in all):%s\ndaemon counters:\n%s",
				time.Since(moved).Round(time.Second), time.Since(start).Round(time.Second), b.String(), eventCounters(t, d))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// eventCounters returns the daemon's series that tell where events went: per Podman
// service, up, stream reconnects and events left out as another service's; the OTLP
// log export's counts.
func eventCounters(t *testing.T, d *daemonProc) string {
	t.Helper()
	resp, err := http.Get("http://" + d.addr + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, l := range strings.Split(string(body), "\n") {
		for _, p := range []string{"podexporter_podman_up{", "podexporter_podman_event_stream_reconnects_total{",
			"podexporter_podman_foreign_events_total{", "podexporter_otlp_"} {
			if strings.HasPrefix(l, p) && (p != "podexporter_otlp_" || strings.Contains(l, `signal="logs"`)) {
				fmt.Fprintf(&b, "  %s\n", l)
			}
		}
	}
	return b.String()
}

// sameEvents compares each named container's event records with what podman events
// listed for it, as multisets.
func sameEvents(t *testing.T, c *otelcoltest.Collector, names []string, want map[string][]string) {
	t.Helper()
	for _, n := range names {
		var got []string
		for _, r := range eventRecords(c, n, "") {
			got = append(got, strings.TrimPrefix(r.EventName, "container."))
		}
		slices.Sort(got)
		slices.Sort(want[n])
		if !slices.Equal(got, want[n]) {
			t.Errorf("%s: records %v, podman events %v", n, got, want[n])
		}
	}
}

// eventRecords returns the event records of the named container, of one event name
// or of all when name is empty.
func eventRecords(c *otelcoltest.Collector, container, name string) []otelcoltest.LogRecord {
	var out []otelcoltest.LogRecord
	for _, r := range recordsOf(c, container) {
		if r.EventName != "" && (name == "" || r.EventName == name) {
			out = append(out, r)
		}
	}
	return out
}

// TestEventsThroughOutages: events before, during and after an outage of the receiver
// and of the Podman service arrive exactly once. The engine subscribes again where the
// stream stopped, so Podman replays what happened while it was down, and the event
// queue holds events until the receiver takes them.
func TestEventsThroughOutages(t *testing.T) {
	testenv.RequireJournald(t)
	testenv.RequirePodman(t)
	sock := t.TempDir() + "/podman.sock"
	uri := "unix://" + sock
	startService := func() *exec.Cmd {
		os.Remove(sock)
		cmd := exec.Command("podman", "system", "service", "--time=0", uri)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		testenv.Eventually(t, 10*time.Second, "the service socket", func() bool { _, err := os.Stat(sock); return err == nil })
		return cmd
	}
	svc := startService()
	c := otelcoltest.StartCollector(t)
	since := time.Now().Add(-time.Second)
	d := startDaemon(t, nil, "--podman.socket="+uri, "--otlp.endpoint="+c.HTTPEndpoint,
		"--otlp.protocol=http/protobuf", "--journal.start=tail")
	up := func(want float64) func() bool {
		return func() bool {
			return scrapeValue(t, d.addr, "podexporter_podman_up", map[string]string{"podman_service": uri}) == want
		}
	}
	testenv.Eventually(t, 15*time.Second, "the private Podman service up", up(1))
	time.Sleep(500 * time.Millisecond)

	// Start and die each side of the outages: while the receiver is down, and while
	// both are down.
	before := testenv.UniqueName("ev-before")
	runExited(t, before, "exit 4")
	c.Stop()
	duringReceiver := testenv.UniqueName("ev-norecv")
	runExited(t, duringReceiver, "exit 5")
	_ = svc.Process.Kill()
	_ = svc.Wait()
	testenv.Eventually(t, 10*time.Second, "the daemon to see the service down", up(0))
	duringBoth := testenv.UniqueName("ev-noservice")
	runExited(t, duringBoth, "exit 6")
	startService()
	testenv.Eventually(t, 45*time.Second, "the daemon to reconnect", up(1))
	c.Start()
	after := testenv.UniqueName("ev-after")
	runExited(t, after, "exit 8")

	names := []string{before, duringReceiver, duringBoth, after}
	want := awaitEvents(t, c, d, names, func() map[string][]string { return referenceEvents(t, rootfulPodman, since, names) })
	for _, n := range names {
		if !slices.Contains(want[n], "start") || !slices.Contains(want[n], "died") {
			t.Fatalf("podman events lists %v for %s; want a start and a died", want[n], n)
		}
	}
	sameEvents(t, c, names, want)
}

// runExited runs a container that executes script and waits until it has exited.
func runExited(t *testing.T, name, script string) {
	t.Helper()
	if out, err := exec.Command("podman", "run", "--name", name, testenv.Image, "sh", "-c", script).CombinedOutput(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("podman run: %v %s", err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("podman", "rm", "-f", "-t", "0", name).Run() })
}

// TestEventsReplayedAfterRestart: podexporter keeps where each service's events were
// acknowledged, so events that happen while it is down (killed) arrive after it starts
// again, and those it had delivered do not come twice.
func TestEventsReplayedAfterRestart(t *testing.T) {
	testenv.RequireJournald(t)
	p := testenv.RequirePodman(t)
	c := otelcoltest.StartCollector(t)
	state := t.TempDir()
	since := time.Now().Add(-time.Second)
	args := []string{"--state.directory=" + state, "--podman.socket=" + p.Socket, "--otlp.endpoint=" + c.HTTPEndpoint,
		"--otlp.protocol=http/protobuf", "--journal.start=tail"}
	d := startDaemon(t, nil, args...)
	awaitSubscribed(t, d, "rootful")
	before := testenv.UniqueName("ev-prekill")
	runExited(t, before, "exit 2")
	awaitEvents(t, c, d, []string{before}, func() map[string][]string { return referenceEvents(t, rootfulPodman, since, []string{before}) })

	d.kill()
	down := testenv.UniqueName("ev-whiledown")
	runExited(t, down, "exit 9")
	d = startDaemon(t, nil, args...)

	names := []string{before, down}
	want := awaitEvents(t, c, d, names, func() map[string][]string { return referenceEvents(t, rootfulPodman, since, names) })
	sameEvents(t, c, names, want)
}

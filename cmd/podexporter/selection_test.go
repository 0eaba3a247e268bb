package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podexporter/podexporter/internal/testenv"
)

// selectionCase is one test container: what it is run with, and whether the
// metrics and the logs keep it.
type selectionCase struct {
	suffix  string
	args    []string
	image   string // "" for the test image
	metrics bool
	logs    bool
}

// TestChoosingContainers runs the daemon over both Podman services with the
// container selection of the metrics and of the logs, and real containers on each
// service that every rule leaves out or keeps. /metrics must have no series of a
// container the metrics leave out (its log counters included) and keep its
// neighbours'; the JSON lines must hold exactly the lines journalctl has for each
// container the logs keep, and none of the others', which journalctl shows they
// wrote. podman inspect says which container is the pod's infra container.
func TestChoosingContainers(t *testing.T) {
	testenv.RequireJournald(t)
	services := testenv.RequirePodmanServices(t)
	out := filepath.Join(t.TempDir(), "logs.jsonl")
	args := []string{"--journal.sink=jsonl", "--journal.output=" + out, "--journal.start=tail",
		// Metrics: by name, label, image, infra role, and the opt-out label.
		"--podman.exclude-container=-skipme$", "--podman.exclude-label=tier=batch", "--podman.exclude-image=-legacy:",
		"--podman.exclude-infra",
		// Logs: only containers labelled app, not of the legacy image, and not opted out.
		"--journal.include-label=app", "--journal.exclude-image=-legacy:"}
	for _, p := range services {
		args = append(args, "--podman.socket="+p.Socket)
	}
	d := startDaemon(t, nil, args...)

	type started struct {
		service, name, id string
		c                 selectionCase
	}
	var all []started
	for _, p := range services {
		prefix := testenv.UniqueName("choose")
		legacy := "localhost/" + prefix + "-legacy:1"
		p.Output(t, "tag", testenv.Image, legacy)
		t.Cleanup(func() { _ = p.Command("rmi", legacy).Run() }) // untags only
		pod := prefix + "-pod"
		p.Output(t, "pod", "create", "--name", pod)
		t.Cleanup(func() { _ = p.Command("pod", "rm", "-f", "-t", "0", pod).Run() })
		// The left-out ones first: once the kept ones' lines are delivered, the
		// reader has read past theirs.
		cases := []selectionCase{
			{suffix: "batch", args: []string{"--label", "tier=batch"}, metrics: false, logs: false},
			{suffix: "legacy", args: []string{"--label", "app=shop"}, image: legacy, metrics: false, logs: false},
			{suffix: "quiet", args: []string{"--label", "app=shop", "--label", "io.podexporter.logs=false"}, metrics: true, logs: false},
			{suffix: "unmetered", args: []string{"--label", "app=shop", "--label", "io.podexporter.metrics=false"}, metrics: false, logs: true},
			{suffix: "skipme", args: []string{"--label", "app=shop"}, metrics: false, logs: true},
			{suffix: "member", args: []string{"--label", "app=shop", "--pod", pod}, metrics: true, logs: true},
			{suffix: "plain", args: []string{"--label", "app=shop"}, metrics: true, logs: true},
		}
		// Created first and started once the daemon has them all, so that each
		// container's first line is judged by its labels and image, however slow
		// the host: a line whose service cannot answer in time is kept.
		var names []string
		for _, c := range cases {
			name := prefix + "-" + c.suffix
			image := testenv.Image
			if c.image != "" {
				image = c.image
			}
			create := append([]string{"create", "--name", name}, c.args...)
			id := p.Output(t, append(create, image, "sh", "-c", "echo "+c.suffix+" one; echo "+c.suffix+" two; sleep 600")...)
			t.Cleanup(func() { p.Remove(name) })
			all = append(all, started{p.Socket, name, id, c})
			names = append(names, name)
		}
		// The last one created is inspected last: once /metrics shows it, the
		// daemon has every one of them.
		last := all[len(all)-1].id
		testenv.Eventually(t, 60*time.Second, "the daemon to know the created containers", func() bool {
			return hasID(scrapeFamilies(t, d.addr)["podman_container_info"], last)
		})
		p.Output(t, append([]string{"start"}, names...)...)
		infra := p.Output(t, "pod", "inspect", "--format", "{{.InfraContainerID}}", pod)
		if p.Output(t, "inspect", "--format", "{{.IsInfra}}", infra) != "true" {
			t.Fatalf("podman inspect says %s is not %s's infra container", infra, pod)
		}
		all = append(all, started{p.Socket, pod + " infra", infra, selectionCase{suffix: "infra"}})
	}

	// Logs: each kept container's lines, as journalctl has them, and nothing else.
	lines := func() map[string][]string {
		got := map[string][]string{}
		f, err := os.Open(out)
		if err != nil {
			return got
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var l struct {
				Body string `json:"body"`
				Name string `json:"container.name"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				got[l.Name] = append(got[l.Name], l.Body)
			}
		}
		return got
	}
	var got map[string][]string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got = lines()
		var missing []string
		for _, s := range all {
			if s.c.logs && len(got[s.name]) < 2 {
				missing = append(missing, s.name)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s the JSON lines lack the lines of %v; they hold %q", missing, got)
		}
	}
	for _, s := range all {
		if s.c.suffix == "infra" {
			continue
		}
		journal := testenv.Journal(t, "CONTAINER_NAME="+s.name)
		if len(journal) != 2 {
			t.Fatalf("%s: journalctl has %q, want its two lines", s.name, journal)
		}
		want := journal
		if !s.c.logs {
			want = nil
		}
		if !slices.Equal(got[s.name], want) {
			t.Errorf("%s: the JSON lines hold %q, want %q (journalctl: %q)", s.name, got[s.name], want, journal)
		}
	}

	// Metrics: none of the left-out ones' series, the kept ones' as ever. Stats come
	// every 10 s: wait for the kept ones' CPU.
	var fams map[string]*dto.MetricFamily
	testenv.Eventually(t, 60*time.Second, "the kept containers' CPU and log counters in /metrics", func() bool {
		fams = scrapeFamilies(t, d.addr)
		for _, s := range all {
			if s.c.metrics && (!hasID(fams["podman_container_cpu_seconds_total"], s.id) ||
				s.c.logs && !hasID(fams["podman_container_log_lines_total"], s.id)) {
				return false
			}
		}
		return true
	})
	for _, s := range all {
		var with []string
		for name, f := range fams {
			if hasID(f, s.id) {
				with = append(with, name)
			}
		}
		switch {
		case !s.c.metrics && len(with) > 0:
			t.Errorf("%s is left out of the metrics, but /metrics has it in %v", s.name, with)
		case s.c.metrics && !slices.Contains(with, "podman_container_info"):
			t.Errorf("%s is kept, but /metrics has no podman_container_info of it (only %v)", s.name, with)
		}
	}
	for _, p := range services {
		service := p.Socket
		if service == "unix://"+testenv.PodmanSocket {
			service = "rootful"
		}
		// batch, legacy, unmetered, skipme and the infra container, at least: other
		// tests may leave their own out meanwhile.
		if v := scrapeValue(t, d.addr, "podexporter_podman_containers_excluded", map[string]string{"podman_service": service}); !(v >= 5) {
			t.Errorf("podexporter_podman_containers_excluded{podman_service=%q} = %v, want at least 5", service, v)
		}
	}
}

// scrapeFamilies parses the daemon's /metrics.
func scrapeFamilies(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// hasID says whether family f has a series of the container with full id.
func hasID(f *dto.MetricFamily, id string) bool {
	for _, m := range f.GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "id" && lp.GetValue() == id[:12] {
				return true
			}
		}
	}
	return false
}

package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/crypto/bcrypt"

	"github.com/podexporter/podexporter/internal/testenv"
)

// docs/migration.md promises that prometheus-podman-exporter's command lines work as
// they are. Its "Command lines" section is read here and each line is run as the real
// binary against each Podman service of the test host, so the page cannot promise a
// command line that does not start, nor a flag whose behaviour is not checked.

const migrationDoc = "../../docs/migration.md"

// ppeLetters are prometheus-podman-exporter's one-letter flags (its README).
var ppeLetters = map[byte]string{
	'a': "collector.enable-all", 'i': "collector.image", 'n': "collector.network", 'o': "collector.pod",
	'b': "collector.store_labels", 's': "collector.system", 'v': "collector.volume", 'w': "collector.whitelisted_labels",
	'd': "debug", 'h': "help", 'e': "web.disable-exporter-metrics", 'l': "web.listen-address", 'm': "web.max-requests",
	'p': "web.telemetry-path", 't': "collector.cache_duration",
}

// ppeValued are the flags that take a value.
var ppeValued = []string{"web.listen-address", "web.telemetry-path", "web.max-requests", "web.config.file",
	"collector.whitelisted_labels", "collector.whitelisted-labels", "collector.cache_duration", "collector.cache-duration",
	"collector.container-stats-timeout"}

// ppeUse is one flag of a command line: its long name, its value, and where the value
// is (the index of the token holding it, and whether it follows = in that token).
type ppeUse struct {
	long, spelling, value string
	// written is the flag as the line writes it: --long or -x.
	written string
	at      int
	inline  bool
}

// ppeCommandLine is one line of the page: environment assignments, then the
// arguments after prometheus-podman-exporter.
type ppeCommandLine struct {
	text string
	env  []string
	args []string
	uses []ppeUse
}

func (l ppeCommandLine) has(long string) (ppeUse, bool) {
	var last ppeUse
	found := false
	for _, u := range l.uses {
		if u.long == long {
			last, found = u, true
		}
	}
	return last, found
}

// docCommandLines reads the sh blocks of the page's Command lines section.
func docCommandLines(t *testing.T) []ppeCommandLine {
	t.Helper()
	doc, err := os.ReadFile(migrationDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Command lines\n")
	if !ok {
		t.Fatalf("%s has no Command lines section", migrationDoc)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var lines []ppeCommandLine
	for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		for _, text := range strings.Split(strings.TrimSpace(block[1]), "\n") {
			lines = append(lines, parsePPELine(t, text))
		}
	}
	if len(lines) == 0 {
		t.Fatalf("%s: no command lines", migrationDoc)
	}
	return lines
}

// docFlagSpellings returns every spelling in the first column of the page's flags table.
func docFlagSpellings(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile(migrationDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "\n## Flags\n")
	section, _, _ = strings.Cut(section, "\n## ")
	var out []string
	for _, line := range strings.Split(section, "\n") {
		if cells := strings.Split(line, "|"); strings.HasPrefix(line, "| `-") && len(cells) > 2 {
			for _, m := range regexp.MustCompile("`(-[^`=]+)`").FindAllStringSubmatch(cells[1], -1) {
				out = append(out, m[1])
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no flags table", migrationDoc)
	}
	return out
}

func parsePPELine(t *testing.T, text string) ppeCommandLine {
	t.Helper()
	l := ppeCommandLine{text: text}
	fields := strings.Fields(text)
	for len(fields) > 0 && strings.Contains(fields[0], "=") && !strings.HasPrefix(fields[0], "-") {
		l.env, fields = append(l.env, fields[0]), fields[1:]
	}
	if len(fields) == 0 || fields[0] != "prometheus-podman-exporter" {
		t.Fatalf("%s: %q does not run prometheus-podman-exporter", migrationDoc, text)
	}
	l.args = fields[1:]
	for i := 0; i < len(l.args); i++ {
		a := l.args[i]
		switch {
		case strings.HasPrefix(a, "--"):
			name, value, inline := strings.Cut(a[2:], "=")
			u := ppeUse{long: name, spelling: "--" + name, written: "--" + name, value: value, at: i, inline: inline}
			if slices.Contains(ppeValued, name) && !inline {
				i++
				if i == len(l.args) {
					t.Fatalf("%q: %s lacks its value", text, a)
				}
				u.value, u.at = l.args[i], i
			}
			l.uses = append(l.uses, u)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				long, ok := ppeLetters[a[j]]
				if !ok {
					t.Fatalf("%q: -%c is not prometheus-podman-exporter's", text, a[j])
				}
				u := ppeUse{long: long, spelling: "--" + long, written: "-" + string(a[j]), at: i}
				if slices.Contains(ppeValued, long) {
					if j != len(a)-1 || i+1 == len(l.args) {
						t.Fatalf("%q: -%c needs its value as the next word", text, a[j])
					}
					i++
					u.value, u.at = l.args[i], i
				}
				l.uses = append(l.uses, u)
			}
		default:
			t.Fatalf("%q: %q is not a flag", text, a)
		}
	}
	return l
}

// setValue replaces the value of u in the line's arguments.
func (l *ppeCommandLine) setValue(u ppeUse, value string) {
	if u.inline {
		l.args[u.at] = u.spelling + "=" + value
	} else {
		l.args[u.at] = value
	}
}

// ppeFixture is what the command lines are checked against on one Podman service: a
// container from an image with labels, given labels of its own, a pod and a volume
// with labels.
type ppeFixture struct {
	p                          *testenv.Podman
	container, pod, image, vol string // short ids (the volume: its name)
	name                       string // the container's
	containerLabels            map[string]string
	podLabels, imageLabels     map[string]string
	webConfig                  string // a basic-auth web configuration
}

func newPPEFixture(t *testing.T, p *testenv.Podman) *ppeFixture {
	t.Helper()
	uniq := testenv.UniqueName("ppe")
	f := &ppeFixture{p: p, name: uniq + "-web",
		containerLabels: map[string]string{"app": "ppe-web", "com.example.team": "shop", "maintainer": "ops"}, // maintainer from the image
		podLabels:       map[string]string{"app": "ppe-pod", "com.example.team": "shop"},
		imageLabels:     map[string]string{"app": "ppe-image", "maintainer": "ops"},
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "Containerfile")
	if err := os.WriteFile(file, []byte("FROM "+testenv.Image+"\nLABEL app=ppe-image maintainer=ops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := "localhost/" + uniq + ":test"
	out := strings.Fields(p.Output(t, "build", "-q", "-f", file, "-t", ref, dir))
	f.image = out[len(out)-1][:12]
	t.Cleanup(func() { _ = p.Command("rmi", "-f", ref).Run() })
	f.container = p.Output(t, "run", "-d", "--name", f.name, "--label", "app=ppe-web", "--label", "com.example.team=shop", ref, "sleep", "600")[:12]
	t.Cleanup(func() { p.Remove(f.name) })
	pod := uniq + "-pod"
	f.pod = p.Output(t, "pod", "create", "--name", pod, "--label", "app=ppe-pod", "--label", "com.example.team=shop")[:12]
	t.Cleanup(func() { _ = p.Command("pod", "rm", "-f", "-t", "0", pod).Run() })
	f.vol = uniq + "-vol"
	p.Output(t, "volume", "create", "--label", "app=ppe-vol", f.vol)
	t.Cleanup(func() { _ = p.Command("volume", "rm", "-f", f.vol).Run() })

	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	f.webConfig = filepath.Join(dir, "web.yml")
	if err := os.WriteFile(f.webConfig, []byte("basic_auth_users:\n  prometheus: "+string(hash)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// ppeRun is one command line running.
type ppeRun struct {
	t      *testing.T
	line   ppeCommandLine
	f      *ppeFixture
	addrs  []string
	path   string
	user   string
	stderr *testenv.SyncBuffer
}

func (r *ppeRun) get(addr, path string, auth bool) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if auth && r.user != "" {
		req.SetBasicAuth(r.user, "s3cret")
	}
	c := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// scrape returns the families served at the telemetry path of the first address.
func (r *ppeRun) scrape() (map[string]*dto.MetricFamily, error) {
	code, body, err := r.get(r.addrs[0], r.path, true)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("%s: status %d", r.path, code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(bytes.NewReader(body))
}

// series returns the labels of the family's series whose label key has value value.
func series(fams map[string]*dto.MetricFamily, family, key, value string) (map[string]string, bool) {
	for _, m := range fams[family].GetMetric() {
		labels := map[string]string{}
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		if labels[key] == value {
			return labels, true
		}
	}
	return nil, false
}

// labelName is a label key as a metric label name, as both exporters make it.
func labelName(key string) string {
	return regexp.MustCompile(`[^a-zA-Z0-9_]`).ReplaceAllString(key, "_")
}

// ppeChecks are what each flag promises, by long name, checked on a running daemon
// whose metrics already show the fixture's container. value is the flag's value.
var ppeChecks = map[string]func(r *ppeRun, fams map[string]*dto.MetricFamily, value string){
	"collector.enable-all": func(r *ppeRun, fams map[string]*dto.MetricFamily, _ string) {
		for _, kind := range []string{"pod", "image", "volume", "network", "system"} {
			r.wantCollector(fams, kind)
		}
	},
	"collector.pod":     func(r *ppeRun, fams map[string]*dto.MetricFamily, _ string) { r.wantCollector(fams, "pod") },
	"collector.image":   func(r *ppeRun, fams map[string]*dto.MetricFamily, _ string) { r.wantCollector(fams, "image") },
	"collector.volume":  func(r *ppeRun, fams map[string]*dto.MetricFamily, _ string) { r.wantCollector(fams, "volume") },
	"collector.network": func(r *ppeRun, fams map[string]*dto.MetricFamily, _ string) { r.wantCollector(fams, "network") },
	"collector.system":  func(r *ppeRun, fams map[string]*dto.MetricFamily, _ string) { r.wantCollector(fams, "system") },
	"collector.enhance-metrics": func(r *ppeRun, fams map[string]*dto.MetricFamily, _ string) {
		info := r.want(fams, "podman_container_info", "id", r.f.container)
		state := r.want(fams, "podman_container_state", "id", r.f.container)
		if state["name"] != r.f.name || state["image"] == "" || state["image"] != info["image"] {
			r.t.Errorf("podman_container_state %v: want name %q and image %q", state, r.f.name, info["image"])
		}
	},
	"collector.store_labels": func(r *ppeRun, fams map[string]*dto.MetricFamily, _ string) { r.wantLabels(fams, nil) },
	"collector.store-labels": func(r *ppeRun, fams map[string]*dto.MetricFamily, _ string) { r.wantLabels(fams, nil) },
	"collector.whitelisted_labels": func(r *ppeRun, fams map[string]*dto.MetricFamily, value string) {
		r.wantLabels(fams, strings.Split(value, ","))
	},
	"collector.whitelisted-labels": func(r *ppeRun, fams map[string]*dto.MetricFamily, value string) {
		r.wantLabels(fams, strings.Split(value, ","))
	},
	"collector.cache_duration": func(r *ppeRun, _ map[string]*dto.MetricFamily, _ string) { r.wantNotice("--collector.cache_duration") },
	"collector.cache-duration": func(r *ppeRun, _ map[string]*dto.MetricFamily, _ string) { r.wantNotice("--collector.cache-duration") },
	"collector.container-stats-timeout": func(r *ppeRun, _ map[string]*dto.MetricFamily, _ string) {
		r.wantNotice("--collector.container-stats-timeout")
	},
	"debug": func(r *ppeRun, _ map[string]*dto.MetricFamily, _ string) {
		// The first debug line comes when start-up pages are given back, 10 s in.
		testenv.Eventually(r.t, 20*time.Second, "a level=DEBUG line", func() bool { return strings.Contains(r.stderr.String(), "level=DEBUG") })
	},
	"web.disable-exporter-metrics": func(r *ppeRun, fams map[string]*dto.MetricFamily, _ string) {
		for name := range fams {
			if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") {
				r.t.Errorf("%s served with --web.disable-exporter-metrics", name)
			}
		}
		if fams["podexporter_build_info"] == nil {
			r.t.Error("podexporter_build_info left out too")
		}
	},
	"web.listen-address": func(r *ppeRun, _ map[string]*dto.MetricFamily, _ string) {
		for _, a := range r.addrs {
			if code, _, err := r.get(a, r.path, true); err != nil || code != http.StatusOK {
				r.t.Errorf("%s%s: %d %v", a, r.path, code, err)
			}
		}
	},
	"web.telemetry-path": func(r *ppeRun, _ map[string]*dto.MetricFamily, value string) {
		if value == "/metrics" {
			return
		}
		if code, _, err := r.get(r.addrs[0], "/metrics", true); err != nil || code != http.StatusNotFound {
			r.t.Errorf("/metrics beside --web.telemetry-path=%s: %d %v, want 404", value, code, err)
		}
	},
	"web.max-requests": func(r *ppeRun, _ map[string]*dto.MetricFamily, value string) {
		n, err := strconv.Atoi(value)
		if err != nil || n == 0 || n > 4 {
			return // no limit, or one a burst of this test's size would not pass for sure
		}
		// A burst of 25 scrapes per allowed one: some must find every slot taken.
		for round := 0; round < 20; round++ {
			var wg sync.WaitGroup
			var seen atomic.Bool
			for range 25 * n {
				wg.Go(func() {
					code, body, err := r.get(r.addrs[0], r.path, true)
					if err == nil && code == http.StatusServiceUnavailable && bytes.Contains(body, []byte("--web.max-requests")) {
						seen.Store(true)
					}
				})
			}
			wg.Wait()
			if seen.Load() {
				return
			}
		}
		r.t.Errorf("%d scrapes at once with --web.max-requests=%d: none refused", 25*n, n)
	},
	"web.config.file": func(r *ppeRun, _ map[string]*dto.MetricFamily, _ string) {
		if code, _, err := r.get(r.addrs[0], r.path, false); err != nil || code != http.StatusUnauthorized {
			r.t.Errorf("without credentials: %d %v, want 401", code, err)
		}
	},
}

// wantCollector checks the families of prometheus-podman-exporter's collector kind for
// the fixture.
func (r *ppeRun) wantCollector(fams map[string]*dto.MetricFamily, kind string) {
	r.t.Helper()
	switch kind {
	case "pod":
		r.want(fams, "podman_pod_info", "id", r.f.pod)
		r.want(fams, "podman_pod_state", "id", r.f.pod)
	case "image":
		r.want(fams, "podman_image_info", "id", r.f.image)
		r.want(fams, "podman_image_size", "id", r.f.image)
	case "volume":
		r.want(fams, "podman_volume_info", "name", r.f.vol)
	case "network":
		r.want(fams, "podman_network_info", "name", "podman")
	case "system":
		if len(fams["podman_system_api_version"].GetMetric()) == 0 {
			r.t.Error("no podman_system_api_version")
		}
	}
}

// want returns the labels of the family's series whose key is value, failing the test
// when there is none.
func (r *ppeRun) want(fams map[string]*dto.MetricFamily, family, key, value string) map[string]string {
	r.t.Helper()
	labels, ok := series(fams, family, key, value)
	if !ok {
		r.t.Errorf("no %s{%s=%q}", family, key, value)
	}
	return labels
}

// wantLabels checks the fixture's labels on podman_container_info, _pod_info and
// _image_info: all of them (keys nil), or only those of keys.
func (r *ppeRun) wantLabels(fams map[string]*dto.MetricFamily, keys []string) {
	r.t.Helper()
	if keys != nil {
		if _, store := r.line.has("collector.store_labels"); store {
			keys = nil // prometheus-podman-exporter ignores the list beside it
		}
		if _, store := r.line.has("collector.store-labels"); store {
			keys = nil
		}
	}
	for _, kind := range []struct {
		family, key, value string
		labels             map[string]string
	}{
		{"podman_container_info", "id", r.f.container, r.f.containerLabels},
		{"podman_pod_info", "id", r.f.pod, r.f.podLabels},
		{"podman_image_info", "id", r.f.image, r.f.imageLabels},
	} {
		got := r.want(fams, kind.family, kind.key, kind.value)
		for k, v := range kind.labels {
			listed := keys == nil || slices.Contains(keys, k)
			if have, ok := got[labelName(k)]; listed && have != v || !listed && ok {
				r.t.Errorf("%s %s: label %s = %q (present %v), want %q listed %v", kind.family, kind.value, labelName(k), have, ok, v, listed)
			}
		}
	}
}

// wantNotice checks that the start logged the flag's notice once.
func (r *ppeRun) wantNotice(flag string) {
	r.t.Helper()
	if n := strings.Count(r.stderr.String(), "flag="+flag+" "); n != 1 {
		r.t.Errorf("%d notices for %s in the log, want 1:\n%s", n, flag, r.stderr)
	}
}

// TestMigrationCommandLines runs every command line of docs/migration.md.
func TestMigrationCommandLines(t *testing.T) {
	lines := docCommandLines(t)
	// Every spelling of the flags table (but --help) is in a command line, and every
	// flag of a command line has a check.
	used := map[string]bool{}
	for _, l := range lines {
		for _, u := range l.uses {
			used[u.written] = true
			if _, ok := ppeChecks[u.long]; !ok && u.long != "version" {
				t.Errorf("%q: no check for --%s", l.text, u.long)
			}
		}
	}
	for _, spelling := range docFlagSpellings(t) {
		if !used[spelling] && spelling != "--help" && spelling != "-h" {
			t.Errorf("no command line of %s uses %s", migrationDoc, spelling)
		}
	}
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		f := newPPEFixture(t, p)
		for i, l := range lines {
			t.Run(fmt.Sprintf("%d", i+1), func(t *testing.T) {
				t.Parallel()
				t.Logf("%s", l.text)
				l.args = slices.Clone(l.args)
				runPPELine(t, f, l)
			})
		}
	})
}

func runPPELine(t *testing.T, f *ppeFixture, l ppeCommandLine) {
	r := &ppeRun{t: t, line: l, f: f, path: "/metrics", stderr: &testenv.SyncBuffer{}}
	for _, u := range l.uses {
		switch u.long {
		case "web.listen-address":
			a := testenv.FreeAddr(t)
			r.addrs = append(r.addrs, a)
			l.setValue(u, a)
		case "web.config.file":
			l.setValue(u, f.webConfig)
			r.user = "prometheus"
		case "web.telemetry-path":
			r.path = u.value
		}
	}
	args := slices.Clone(l.args)
	if len(r.addrs) == 0 {
		r.addrs = []string{testenv.FreeAddr(t)}
		args = append(args, "--web.listen-address="+r.addrs[0])
	}
	args = append(args, "--state.directory="+t.TempDir())
	cmd := exec.Command(binary, args...)
	cmd.Env = append(append(os.Environ(), l.env...), "CONTAINER_HOST="+f.p.Socket)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, r.stderr

	if _, ok := l.has("version"); ok {
		err := cmd.Run()
		if err != nil || !strings.Contains(stdout.String(), "podexporter, version") {
			t.Fatalf("%v: %v, printed %q %q", args, err, stdout.String(), r.stderr)
		}
		return
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("podexporter %v stderr:\n%s", args, r.stderr)
		}
	})
	// Started, /metrics answering with the fixture's container.
	var fams map[string]*dto.MetricFamily
	testenv.Eventually(t, 30*time.Second, "the container on "+r.path, func() bool {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("podexporter exited: %v", err)
		default:
		}
		var err error
		fams, err = r.scrape()
		if err != nil {
			return false
		}
		_, ok := series(fams, "podman_container_info", "id", f.container)
		return ok
	})
	for _, u := range l.uses {
		if u.value == "false" {
			continue
		}
		ppeChecks[u.long](r, fams, u.value)
	}
	select {
	case err := <-done:
		done <- err
		t.Errorf("podexporter exited while checked: %v", err)
	default:
	}
}

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
)

// dropIn reads a shipped drop-in of deploy/examples: its Environment= lines (as
// KEY=VALUE, with each old host replaced by its new one) and the flags its "# The same
// with flags:" comment gives, if any.
func dropIn(t *testing.T, name string, hosts map[string]string) (env, flags []string) {
	t.Helper()
	f, err := os.Open(filepath.Join("../../deploy/examples", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	replace := func(s string) string {
		for old, repl := range hosts {
			s = strings.ReplaceAll(s, old, repl)
		}
		return s
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if kv, ok := strings.CutPrefix(line, "Environment="); ok {
			env = append(env, replace(kv))
		}
		if rest, ok := strings.CutPrefix(line, "# The same with flags:"); ok {
			for _, f := range strings.Fields(rest) {
				if strings.HasPrefix(f, "--") {
					flags = append(flags, replace(f))
				}
			}
		}
	}
	if len(env) == 0 {
		t.Fatalf("%s has no Environment= line", name)
	}
	return env, flags
}

// TestExampleLokiOTLP runs deploy/examples/loki-otlp.conf as shipped, only Loki's host
// and port moved, against a real Collector that serves logs where Loki does
// (/otlp/v1/logs) and nothing at /v1/logs: the container's lines arrive and no metric is
// pushed. The flags its comment gives instead do the same.
func TestExampleLokiOTLP(t *testing.T) {
	testenv.RequireJournald(t)
	p := testenv.RequirePodman(t)
	for _, how := range []string{"environment", "flags"} {
		t.Run(how, func(t *testing.T) {
			c := otelcoltest.StartCollectorURLPaths(t, "/otlp/v1/logs", "/not-loki/v1/metrics")
			env, flags := dropIn(t, "loki-otlp.conf", map[string]string{"http://loki:3100": c.HTTPEndpoint})
			if how == "flags" {
				if len(flags) == 0 {
					t.Fatal("loki-otlp.conf gives no flags")
				}
				env = nil
			} else {
				flags = nil
			}
			startDaemon(t, env, append([]string{"--podman.socket=" + p.Socket, "--journal.start=tail", "--otlp.metrics.interval=1s"}, flags...)...)
			name := testenv.UniqueName("loki")
			p.Run(t, name, nil, "sh", "-c", "sleep 1; echo to-loki-1; echo to-loki-2; sleep 600")
			testenv.Eventually(t, 30*time.Second, "both lines at Loki's /otlp/v1/logs", func() bool { return linesAt(c, name) >= 2 })
			time.Sleep(2 * time.Second) // two metric intervals
			if n := len(c.Metrics()); n != 0 {
				t.Errorf("%d metric points pushed; the recipe sends logs only", n)
			}
		})
	}
}

// prometheusOTLPVersion is the Prometheus the OTLP recipe was tested with (Go module
// v0.316.0 is release 3.16.0).
const prometheusOTLPVersion = "v0.316.0"

// prometheusWithOTLP finds a Prometheus that has the OTLP receiver (2.47 or later):
// $PODEXPORTER_PROMETHEUS, the one built into /var/cache/podexporter, or the one on
// PATH. It returns the binary and the flag that turns the receiver on. Debian 12's
// Prometheus is 2.42, without the receiver, and a newer one is no Debian package here:
// building one takes about 17 minutes, more than CI can spend on a recipe. So this is
// the one opt-in check: it runs where such a Prometheus exists (make
// interop-prometheus builds it) and says so, under CI too, where it does not.
func prometheusWithOTLP(t *testing.T) (bin, flag string) {
	t.Helper()
	candidates := []string{os.Getenv("PODEXPORTER_PROMETHEUS"), "/var/cache/podexporter/prometheus-" + prometheusOTLPVersion + "/prometheus"}
	if p, err := exec.LookPath("prometheus"); err == nil {
		candidates = append(candidates, p)
	}
	re := regexp.MustCompile(`version (\d+)\.(\d+)\.`)
	var seen []string
	for _, c := range candidates {
		if c == "" {
			continue
		}
		// 3.x has a flag for the receiver; 2.47 to 2.55 a feature flag.
		if help, err := exec.Command(c, "--help").CombinedOutput(); err == nil && strings.Contains(string(help), "--[no-]web.enable-otlp-receiver") {
			return c, "--web.enable-otlp-receiver"
		}
		out, err := exec.Command(c, "--version").CombinedOutput()
		m := re.FindStringSubmatch(string(out))
		if err != nil || m == nil {
			continue
		}
		major, _ := strconv.Atoi(m[1])
		minor, _ := strconv.Atoi(m[2])
		seen = append(seen, fmt.Sprintf("%s is %d.%d", c, major, minor))
		if major == 2 && minor >= 47 {
			return c, "--enable-feature=otlp-write-receiver"
		}
	}
	t.Skipf("no Prometheus with the OTLP receiver (2.47 or later; %s); fix: GOFLAGS= GOBIN=/var/cache/podexporter/prometheus-%s go install -ldflags=-X=github.com/prometheus/common/version.Version=3.16.0 github.com/prometheus/prometheus/cmd/prometheus@%s (about 17 minutes on 2 cores with an empty module cache), or set PODEXPORTER_PROMETHEUS",
		strings.Join(append(seen, "none found"), ", "), prometheusOTLPVersion, prometheusOTLPVersion)
	return "", ""
}

// prometheusVersion is what bin --version says, for the log.
func prometheusVersion(bin string) string {
	out, _ := exec.Command(bin, "--version").Output()
	first, _, _ := strings.Cut(string(out), "\n")
	return first
}

// promQuery runs an instant query and returns each series' labels and value.
func promQuery(t *testing.T, addr, q string) []struct {
	Metric map[string]string
	Value  float64
} {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query %s: %v %s", q, err, body.Error)
	}
	out := make([]struct {
		Metric map[string]string
		Value  float64
	}, len(body.Data.Result))
	for i, r := range body.Data.Result {
		out[i].Metric = r.Metric
		s, _ := r.Value[1].(string)
		out[i].Value, _ = strconv.ParseFloat(s, 64)
	}
	return out
}

// TestExamplePrometheusOTLP runs deploy/examples/prometheus-otlp.yml in a real
// Prometheus with the OTLP receiver and deploy/examples/prometheus-otlp.conf as shipped
// (only Prometheus's host and port moved): two containers' series arrive apart, on
// labels promoted from their resources, with the values /metrics serves, and no push
// is refused.
func TestExamplePrometheusOTLP(t *testing.T) {
	testenv.RequireJournald(t)
	p := testenv.RequirePodman(t)
	bin, receiver := prometheusWithOTLP(t)
	addr := testenv.FreeAddr(t)
	prom := exec.Command(bin, "--config.file=../../deploy/examples/prometheus-otlp.yml", "--storage.tsdb.path="+t.TempDir(),
		"--web.listen-address="+addr, receiver)
	var promLog strings.Builder
	prom.Stdout, prom.Stderr = &promLog, &promLog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = prom.Process.Kill()
		_ = prom.Wait()
		if t.Failed() {
			t.Logf("prometheus:\n%s", promLog.String())
		}
	})
	testenv.Eventually(t, 30*time.Second, "Prometheus ready", func() bool {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	env, _ := dropIn(t, "prometheus-otlp.conf", map[string]string{"http://prometheus:9090": "http://" + addr})
	d := startDaemon(t, env, "--podman.socket="+p.Socket, "--otlp.metrics.interval=1s", "--podman.stats-interval=1s")
	names := []string{testenv.UniqueName("prom-a"), testenv.UniqueName("prom-b")}
	ids := map[string]string{}
	for _, n := range names {
		ids[n] = strings.TrimSpace(p.Run(t, n, []string{"--memory", "64m"}, "sleep", "600"))
	}
	// podman.container.memory.limit (unit By) is podman_container_memory_limit_bytes in
	// Prometheus's translation, as the scrape calls it too.
	for _, n := range names {
		q := fmt.Sprintf(`podman_container_memory_limit_bytes{container_name=%q}`, n)
		var got []struct {
			Metric map[string]string
			Value  float64
		}
		testenv.Eventually(t, 30*time.Second, q+" in Prometheus", func() bool {
			got = promQuery(t, addr, q)
			return len(got) > 0
		})
		want := scrapeValue(t, d.addr, "podman_container_mem_limit_bytes", map[string]string{"id": ids[n][:12]})
		if len(got) != 1 || got[0].Value != want || got[0].Metric["container_id"] != ids[n] || got[0].Metric["job"] != "podexporter" {
			t.Errorf("%s: %+v, want one series of %v on container_id %s, job podexporter", q, got, want, ids[n])
		}
	}
	state := promQuery(t, addr, fmt.Sprintf(`{__name__=~"podman_container_state.*", container_name=~%q}`, names[0]+"|"+names[1]))
	if len(state) != 2 {
		t.Errorf("container state series for the two containers: %+v, want two", state)
	}
	// Prometheus took every push: with the containers' attributes not promoted it
	// refuses them as duplicate samples (400), which podexporter logs.
	if _, err := d.stop(t); err != nil {
		t.Fatalf("podexporter exit: %v", err)
	}
	if log := d.stderr.String(); strings.Contains(log, "otlp metric push failing") {
		t.Errorf("a push failed:\n%s", log)
	}
	if len(state) > 0 {
		t.Logf("%s (%s): a container's state arrives as %s", bin, prometheusVersion(bin), state[0].Metric["__name__"])
	}
}

package main

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
)

// recordsOf returns the collector's records whose resource is the named container.
func recordsOf(c *otelcoltest.Collector, name string) []otelcoltest.LogRecord {
	var out []otelcoltest.LogRecord
	for _, r := range c.Logs() {
		if r.Resource["container.name"] == name {
			out = append(out, r)
		}
	}
	return out
}

func scrapeValue(t *testing.T, addr, family string, labels map[string]string) float64 {
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
next:
	for _, m := range fams[family].GetMetric() {
		for _, lp := range m.GetLabel() {
			if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
				continue next
			}
		}
		if m.Counter != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	return math.NaN()
}

// TestOTLPEndToEnd runs the daemon against a real Collector over both protocols: every
// line of a real container arrives once with its resource and severity, lifecycle
// events arrive for a container that dies and for a health change, and the pushed
// points equal what /metrics serves.
func TestOTLPEndToEnd(t *testing.T) {
	testenv.RequireJournald(t)
	p := testenv.RequirePodman(t)
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(strings.ReplaceAll(protocol, "/", "_"), func(t *testing.T) {
			c := otelcoltest.StartCollector(t)
			d := startDaemon(t, nil, "--podman.socket="+p.Socket, "--otlp.endpoint="+c.Endpoint(protocol),
				"--otlp.protocol="+protocol, "--journal.start=tail", "--otlp.metrics.interval=1s",
				"--podman.stats-interval=1s", "--podman.container-label=app")

			name := testenv.UniqueName("otlp")
			const lines = 500
			p.Run(t, name, []string{"--label", "app=shop"}, "sh", "-c",
				fmt.Sprintf("sleep 1; i=0; while [ $i -lt %d ]; do echo \"n=$i\"; i=$((i+1)); done; echo failing >&2; exit 3", lines))
			var recs []otelcoltest.LogRecord
			testenv.Eventually(t, 30*time.Second, "every line at the collector", func() bool {
				recs = recordsOf(c, name)
				n := 0
				for _, r := range recs {
					if r.EventName == "" {
						n++
					}
				}
				return n >= lines+1
			})
			journal := testenv.Journal(t, "CONTAINER_NAME="+name)
			seen := map[string]int{}
			for _, r := range recs {
				if r.EventName != "" {
					continue
				}
				seen[r.Body]++
				wantSev, wantStream := 9, "stdout"
				if r.Body == "failing" {
					wantSev, wantStream = 17, "stderr"
				}
				if r.SeverityNumber != wantSev || r.Attributes["log.iostream"] != wantStream {
					t.Fatalf("%q: severity %d stream %v, want %d %s", r.Body, r.SeverityNumber, r.Attributes["log.iostream"], wantSev, wantStream)
				}
				if r.Resource["container.image.name"] != testenv.Image || r.Resource["container.label.app"] != "shop" || r.Resource["container.runtime.name"] != "podman" {
					t.Fatalf("resource %v lacks image, label or runtime", r.Resource)
				}
			}
			if len(seen) != len(journal) {
				t.Fatalf("collector has %d distinct lines, journalctl %d", len(seen), len(journal))
			}
			for _, line := range journal {
				if seen[line] != 1 {
					t.Fatalf("line %q arrived %d times", line, seen[line])
				}
			}

			// The container died with exit code 3: the event says so.
			testenv.Eventually(t, 15*time.Second, "a container.died event with exit code 3", func() bool {
				for _, r := range recordsOf(c, name) {
					if r.EventName == "container.died" && fmt.Sprint(r.Attributes["container.exit_code"]) == "3" && r.Attributes["event.name"] == "container.died" {
						return true
					}
				}
				return false
			})

			// A health change.
			hc := testenv.UniqueName("otlphealth")
			p.Run(t, hc, []string{"--health-cmd", "test ! -f /bad", "--health-interval", "1h", "--health-retries", "1"}, "sleep", "600")
			_ = exec.Command("podman", "healthcheck", "run", hc).Run()
			time.Sleep(500 * time.Millisecond)
			if out, err := exec.Command("podman", "exec", hc, "sh", "-c", ">/bad").CombinedOutput(); err != nil {
				t.Fatalf("podman exec: %v %s", err, out)
			}
			_ = exec.Command("podman", "healthcheck", "run", hc).Run()
			testenv.Eventually(t, 15*time.Second, "a container.health_status event saying unhealthy", func() bool {
				for _, r := range recordsOf(c, hc) {
					if r.EventName == "container.health_status" && r.Attributes["container.health.status"] == "unhealthy" {
						return true
					}
				}
				return false
			})

			// Pushed points equal scraped values for series that hold still.
			id := strings.TrimSpace(runOut(t, "podman", "inspect", "-f", "{{.Id}}", hc))
			for _, m := range []struct{ prom, otel string }{
				{"podman_container_state", "podman.container.state"},
				{"podman_container_mem_limit_bytes", "podman.container.memory.limit"},
				{"podman_container_pids", "podman.container.pids"},
				{"podman_container_health", "podman.container.health"},
			} {
				want := scrapeValue(t, d.addr, m.prom, map[string]string{"id": id[:12]})
				testenv.Eventually(t, 10*time.Second, fmt.Sprintf("%s = %v at the collector", m.otel, want), func() bool {
					got := math.NaN()
					for _, pt := range c.Metrics() {
						if pt.Name == m.otel && pt.Resource["container.id"] == id {
							got = pt.Value // the latest push wins
						}
					}
					return got == want
				})
			}

			// Everything the daemon said went through its structured log: the
			// exporters' global error handler printed to the standard logger.
			for _, line := range strings.Split(d.stderr.String(), "\n") {
				if line != "" && !strings.HasPrefix(line, "time=") {
					t.Fatalf("a line outside the structured log: %q", line)
				}
			}
		})
	}
}

func runOut(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}

func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

// TestOTLPOutage stops the collector while a container writes 1,000 lines/s and starts
// it again: every line arrives, duplicates stay within one batch, and the daemon's
// memory stays bounded because the reader stops reading instead of buffering.
// PODEXPORTER_OUTAGE_SECONDS shortens the 60 s outage for local runs.
func TestOTLPOutage(t *testing.T) {
	testenv.RequireJournald(t)
	p := testenv.RequirePodman(t)
	outage := 60 * time.Second
	if v := os.Getenv("PODEXPORTER_OUTAGE_SECONDS"); v != "" {
		n, _ := strconv.Atoi(v)
		outage = time.Duration(n) * time.Second
	}
	c := otelcoltest.StartCollector(t)
	d := startDaemon(t, nil, "--podman.socket="+p.Socket, "--otlp.endpoint=http://"+c.GRPCEndpoint,
		"--otlp.protocol=grpc", "--journal.start=tail", "--no-otlp.metrics")
	name := testenv.UniqueName("outage")
	total := int(outage.Seconds()+15) * 1000
	// 100 lines, then a tenth of a second: about 1,000 lines/s.
	p.Run(t, name, nil, "sh", "-c", fmt.Sprintf(
		"i=0; while [ $i -lt %d ]; do j=0; while [ $j -lt 100 ]; do echo \"n=$i\"; i=$((i+1)); j=$((j+1)); done; sleep 0.1; done; sleep 600", total))
	time.Sleep(5 * time.Second)
	c.Stop()
	before := rssKiB(t, d.cmd.Process.Pid)
	peak := before
	deadline := time.Now().Add(outage)
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		peak = max(peak, rssKiB(t, d.cmd.Process.Pid))
	}
	c.Start()
	var bodies map[string]int
	testenv.Eventually(t, 3*time.Minute, fmt.Sprintf("all %d lines at the collector", total), func() bool {
		bodies = map[string]int{}
		for _, r := range recordsOf(c, name) {
			if r.EventName == "" {
				bodies[r.Body]++
			}
		}
		return len(bodies) >= total
	})
	dups := 0
	for i := range total {
		n := bodies[fmt.Sprintf("n=%d", i)]
		if n == 0 {
			t.Fatalf("line n=%d never arrived", i)
		}
		dups += n - 1
	}
	t.Logf("outage %s: written %d, delivered %d distinct, duplicated %d; RSS %d KiB before, peak %d KiB during",
		outage, total, len(bodies), dups, before, peak)
	if dups > 1000 {
		t.Errorf("%d duplicates, more than one batch (1000)", dups)
	}
	if peak-before > 40*1024 {
		t.Errorf("RSS grew %d KiB during the outage; reading must stop, not buffer", peak-before)
	}
}

// TestOTLPVerifiesCertificate: the OTLP client checks the receiver's certificate
// and sends nothing to one it cannot verify, unless told to trust its CA or to
// skip verification.
func TestOTLPVerifiesCertificate(t *testing.T) {
	certs := newCerts(t)
	tests := []struct {
		name      string
		expired   bool
		args      []string
		delivered bool
	}{
		{"unknown CA", false, nil, false},
		{"CA given", false, []string{"--otlp.ca-file=" + certs.caFile}, true},
		{"verification skipped", false, []string{"--otlp.insecure-skip-verify"}, true},
		{"expired certificate, CA given", true, []string{"--otlp.ca-file=" + certs.caFile}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cert, key := certs.serverCert, certs.serverKey
			if tc.expired {
				cert, key = certs.expiredServerCert, certs.expiredServerKey
			}
			c := otelcoltest.StartCollectorTLS(t, cert, key)
			args := append([]string{"--otlp.endpoint=https://" + c.GRPCEndpoint, "--otlp.protocol=grpc",
				"--otlp.metrics.interval=1s", "--journal.sink=none", "--no-collector.podman"}, tc.args...)
			d := startDaemon(t, nil, args...)
			failed := map[string]string{"signal": "metrics"}
			if tc.delivered {
				testenv.Eventually(t, 20*time.Second, "metrics at the collector", func() bool { return len(c.Metrics()) > 0 })
				return
			}
			testenv.Eventually(t, 20*time.Second, "a failed metrics export counted", func() bool {
				return scrapeValue(t, d.addr, "podexporter_otlp_failed_total", failed) > 0
			})
			if n := len(c.Metrics()); n != 0 {
				t.Fatalf("the collector received %d points over a connection the client should have refused", n)
			}
			if sent := scrapeValue(t, d.addr, "podexporter_otlp_sent_total", failed); sent != 0 {
				t.Fatalf("podexporter_otlp_sent_total = %v, want 0", sent)
			}
		})
	}
}

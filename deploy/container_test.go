package deploy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// testImage is the offline image; a tag of its own so the test never replaces an image
// a developer built with `make image`.
const testImage = "localhost/podexporter:e2e-test"

// TestContainerEndToEnd runs podexporter as a container with the podman command the
// Quadlet generator produced for podexporter.container, changed only where this test
// host or the test needs it, and checks what the unit promises: READY=1 through
// conmon, metrics of another container (Podman socket, /host/proc, cgroups), the journal
// read through the read-only mounts, no capabilities, a passing healthcheck, and exit 0
// within 10 s of SIGTERM.
func TestContainerEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containers")
	}
	p := testenv.RequirePodman(t)
	testenv.RequireJournald(t)

	build := exec.Command("../scripts/image-offline.sh", testImage)
	build.Env = append(os.Environ(), "BIN="+podexporter(t))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("scripts/image-offline.sh: %v\n%s", err, out)
	}

	_, r, _ := generated(t, false, rootfulUnit)

	target := testenv.UniqueName("deploy-target")
	p.Run(t, target, nil, "sh", "-c", "echo deploy-e2e-line; exec sleep 600")

	name := testenv.UniqueName("deploy-exporter")
	volume := name + "-state"
	addr := testenv.FreeAddr(t)
	argv := adaptForTest(t, r, name, volume, addr,
		// Read the journal for real, through the read-only mounts and the machine-id,
		// into a file on the state volume, only for the target container.
		"--journal.sink=jsonl", "--journal.output=/var/lib/podexporter/lines.jsonl",
		"--journal.start=1h", "--journal.include-container=^"+regexp.QuoteMeta(target)+"$")
	t.Cleanup(func() {
		_ = exec.Command("podman", "rm", "-f", "-t", "0", name).Run()
		_ = exec.Command("podman", "volume", "rm", "-f", volume).Run()
	})

	// Notify=true: systemd would hand podman a NOTIFY_SOCKET; this test is systemd.
	notifyPath, messages := testenv.NotifySocket(t)

	run := exec.Command(argv[0], argv[1:]...)
	run.Env = append(os.Environ(), "NOTIFY_SOCKET="+notifyPath)
	var stderr bytes.Buffer
	run.Stderr = &stderr
	if err := run.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("podman", "logs", name).CombinedOutput()
			t.Logf("podexporter container logs:\n%s", out)
		}
	})

	waitReady(t, messages)

	// What the container was given: a read-only root and one capability, for the
	// users' systemd sockets.
	var inspect []struct {
		EffectiveCaps []string
		HostConfig    struct{ ReadonlyRootfs bool }
	}
	out, err := exec.Command("podman", "container", "inspect", name).Output()
	if err != nil || json.Unmarshal(out, &inspect) != nil || len(inspect) != 1 {
		t.Fatalf("podman container inspect %s: %v %s", name, err, out)
	}
	if !inspect[0].HostConfig.ReadonlyRootfs || !slices.Equal(inspect[0].EffectiveCaps, []string{"CAP_DAC_OVERRIDE"}) {
		t.Errorf("container read-only %v with capabilities %q; want read-only with CAP_DAC_OVERRIDE alone",
			inspect[0].HostConfig.ReadonlyRootfs, inspect[0].EffectiveCaps)
	}

	targetID := containerID(t, target)[:12]
	want := []struct {
		what string
		re   *regexp.Regexp
	}{
		{"podman_container_info of the target (Podman socket)", regexp.MustCompile(`(?m)^podman_container_info\{[^}]*name="` + regexp.QuoteMeta(target) + `"[^}]*\} 1$`)},
		{"network counters of the target (/host/proc)", regexp.MustCompile(`(?m)^podman_container_net_input_total\{[^}]*id="` + targetID + `"[^}]*\} `)},
		{"memory detail of the target (/sys/fs/cgroup)", regexp.MustCompile(`(?m)^podman_container_memory_rss_bytes\{[^}]*id="` + targetID + `"[^}]*\} [1-9]`)},
		{"journal disk usage (/var/log/journal)", regexp.MustCompile(`(?m)^podexporter_journal_disk_usage_bytes\{directory="/var/log/journal"\} [1-9]`)},
		{"journal records delivered (reader, machine-id)", regexp.MustCompile(`(?m)^podexporter_journal_records_delivered_total(\{[^}]*\})? [1-9]`)},
	}
	var body string
	deadline := time.Now().Add(45 * time.Second)
	for {
		body = scrape(t, "http://"+addr+"/metrics")
		var missing []string
		for _, w := range want {
			if !w.re.MatchString(body) {
				missing = append(missing, w.what)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 45 s /metrics still lacks: %s", strings.Join(missing, "; "))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// HealthCmd: the JSON form, run by Podman inside the container.
	if out, err := exec.Command("podman", "healthcheck", "run", name).CombinedOutput(); err != nil {
		t.Errorf("podman healthcheck run: %v: %s", err, out)
	}

	// podman stop sends the image's STOPSIGNAL (SIGTERM) and waits up to 10 s.
	start := time.Now()
	if out, err := exec.Command("podman", "stop", "-t", "10", name).CombinedOutput(); err != nil {
		t.Fatalf("podman stop: %v: %s", err, out)
	}
	took := time.Since(start)
	code, err := exec.Command("podman", "container", "inspect", "--format", "{{.State.ExitCode}}", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(code)) != "0" || took >= 10*time.Second {
		t.Errorf("stopped with exit code %s after %s; want 0 within 10 s of SIGTERM", strings.TrimSpace(string(code)), took)
	}
	t.Logf("podman command: %s; stopped in %s", strings.Join(argv, " "), took.Round(time.Millisecond))
}

// adaptForTest turns the generated podman command into one this host and test can run:
//   - no --cgroups=split: it places the container under the unit's delegated cgroup,
//     and without systemd there is none (podman fails "could not find cgroup mount");
//   - no --rm: the test reads the exit code after the container stopped;
//   - a unique container name and state volume, the offline test image;
//   - a free loopback port for the daemon and, the same, for the healthcheck;
//   - a host directory the unit mounts that this host lacks (/etc/containers/systemd:
//     Debian 12's Podman 4.3 has no Quadlet, while on a Quadlet host the unit itself
//     lives there) is an empty directory of the test's instead.
//
// Everything else (read-only root, mounts, capabilities, network, sd_notify, health
// options, podexporter's own flags) is run exactly as generated.
func adaptForTest(t *testing.T, r podmanRun, name, volume, addr string, extra ...string) []string {
	t.Helper()
	listen := "--web.listen-address=" + addr
	var argv []string
	for i := 0; i < len(r.argv); i++ {
		a := r.argv[i]
		switch {
		case a == "--cgroups=split" || a == "--rm":
		case a == "--name":
			argv = append(argv, a, name)
			i++
		case a == "-v" && strings.HasPrefix(r.argv[i+1], "podexporter-state:"):
			argv = append(argv, a, volume+strings.TrimPrefix(r.argv[i+1], "podexporter-state"))
			i++
		case a == "-v" && strings.HasPrefix(r.argv[i+1], "/etc/containers/systemd:"):
			v := r.argv[i+1]
			if _, err := os.Stat("/etc/containers/systemd"); err != nil {
				v = t.TempDir() + strings.TrimPrefix(v, "/etc/containers/systemd")
			}
			argv = append(argv, a, v)
			i++
		case a == "--health-cmd":
			var cmd []string
			if err := json.Unmarshal([]byte(r.argv[i+1]), &cmd); err != nil {
				t.Fatalf("--health-cmd %q: %v", r.argv[i+1], err)
			}
			js, _ := json.Marshal(append(cmd, listen))
			argv = append(argv, a, string(js))
			i++
		case a == r.image && i > 1 && slices.Equal(r.argv[i+1:], r.args):
			argv = append(argv, testImage)
			argv = append(argv, r.args...)
			argv = append(argv, listen)
			argv = append(argv, extra...)
			return argv
		default:
			argv = append(argv, a)
		}
	}
	t.Fatalf("image %q not found in %q", r.image, r.argv)
	return nil
}

func waitReady(t *testing.T, messages <-chan string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	var seen []string
	for {
		select {
		case m, ok := <-messages:
			if !ok {
				t.Fatalf("notify socket closed; got %q", seen)
			}
			seen = append(seen, m)
			for _, line := range strings.Split(m, "\n") {
				if line == "READY=1" {
					return
				}
			}
		case <-deadline:
			t.Fatalf("no READY=1 through conmon within 30 s; got %q", seen)
		}
	}
}

func containerID(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("podman", "container", "inspect", "--format", "{{.Id}}", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

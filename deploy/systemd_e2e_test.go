//go:build systemd_e2e

package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
)

// The e2e user: rootless Podman and the rootless Quadlet unit, lingering so that its
// systemd manager runs without a login session.
const (
	e2eUser = "e2e"
	e2eUID  = 1000
	// otlpEndpoint is the collector on the systemd container's loopback; every
	// variant runs with host networking inside it.
	otlpEndpoint = "http://127.0.0.1:4318"
	// batchSize is podexporter's default --journal.batch-size: after kill -9, at most
	// the batch in flight may arrive twice.
	batchSize = 1000
	// Lines each logger container writes: the two beside podexporter, and the one
	// running across the kill -9.
	linesEach = 200
	killLines = 600
)

// variant is one way of installing podexporter, run under the booted systemd.
type variant struct {
	name    string
	unit    string // the service systemctl starts
	quadlet bool
	user    bool // a systemctl --user unit of e2eUser
	install func(e *e2e)
	remove  func(e *e2e)
}

// e2e is one host's run: the booted host, the collector inside it, the built binary.
type e2e struct {
	t   *testing.T
	h   *SystemdHost
	col *otelcoltest.Collector
	bin string
	hr  *hostRun
}

// fatalf ends the host's run, its reason kept for the hosts table.
func (e *e2e) fatalf(format string, args ...any) {
	e.t.Helper()
	if e.hr != nil && e.hr.failed == "" {
		e.hr.failed = shorten(fmt.Sprintf(format, args...), 600)
	}
	e.t.Fatalf(format, args...)
}

// hostRun is one host's outcome: what it runs, its rows, and what kept it from
// running them.
type hostRun struct {
	kind    string
	facts   hostFacts
	rows    []row // the deployment variants, with the Podman columns
	service []row // the service layer's rows, where they ran
	// serviceWhy says why the service layer did not run on this host.
	serviceWhy string
	// failed says what kept the host from booting, being prepared or finishing.
	failed string
	took   time.Duration
	// built: the host runs a Podman built from its module, not Debian's.
	built bool
	// signed are the signed release path's rows (deploy/systemd_e2e_signed_test.go);
	// signedWhy says why they did not run on this host.
	signed    []row
	signedWhy string
}

// TestSystemdE2E boots each kind of host scripts/systemd-host.sh prepared
// (SYSTEMD_E2E_HOSTS), one after another, installs each unit there as the README
// tells a user to, and checks what the units promise and what podexporter reports of
// that host's own Podman. It prints a table per host and a host x check summary;
// SYSTEMD_E2E_REPORT=1 writes docs/platforms.md. A host that cannot boot or be
// prepared is a failure (never a skip): it is in the summary with what went wrong.
func TestSystemdE2E(t *testing.T) {
	start := time.Now()
	kinds := HostKinds(t)
	bin := podexporter(t)
	var runs []*hostRun
	for _, kind := range kinds {
		hr := &hostRun{kind: kind}
		runs = append(runs, hr)
		t.Run(kind, func(t *testing.T) {
			t0 := time.Now()
			defer func() {
				hr.took = time.Since(t0)
				if t.Failed() && hr.failed == "" && hr.rows == nil {
					hr.failed = "the host's preparation failed: see the test log"
				}
			}()
			runHost(t, hr, bin)
		})
	}
	for _, hr := range runs {
		fmt.Print(formatHostTables(hr))
	}
	summary := formatHostSummary(runs)
	fmt.Println(summary)
	if os.Getenv("SYSTEMD_E2E_REPORT") == "1" {
		if err := writePlatformReport(runs, time.Since(start)); err != nil {
			t.Errorf("write docs/platforms.md: %v", err)
		}
	}
	t.Logf("make systemd-e2e test time: %s", time.Since(start).Round(time.Second))
}

// runHost boots one host, prepares it, runs the selected variants and, where
// SYSTEMD_E2E_SERVICE_HOSTS lets it, the service layer's rows.
func runHost(t *testing.T, hr *hostRun, bin string) {
	start := time.Now()
	k, err := hostKind(hr.kind)
	if err != nil {
		hr.failed = err.Error()
		testenv.Missing(t, err.Error(), fixSystemdHost)
		return
	}
	h, err := BootSystemdHost(t, k)
	if err != nil {
		hr.failed = shorten(err.Error(), 600)
		t.Fatal(err)
	}
	hr.facts, hr.built = h.Facts, k.PodmanDir != ""
	e := &e2e{t: t, h: h, bin: bin, hr: hr}
	booted := time.Since(start)

	// `make image` inside the booted host: the offline image script with this build.
	e.h.CopyIn(e.bin, "podexporter")
	e.h.CopyIn("../scripts/image-offline.sh", "image-offline.sh")
	if out, err := e.h.Sh("cd /e2e && BIN=/e2e/podexporter ./image-offline.sh localhost/podexporter:latest"); err != nil {
		e.fatalf("make image inside: %v\n%s", err, out)
	}
	if out, err := e.h.Sh(fmt.Sprintf("useradd -m -u %d -s /bin/sh %s && loginctl enable-linger %s && podman save -o /e2e/podexporter.tar localhost/podexporter:latest && chmod 644 /e2e/podexporter.tar",
		e2eUID, e2eUser, e2eUser)); err != nil {
		e.fatalf("prepare the rootless user: %v\n%s", err, out)
	}
	if !e.eventually(30*time.Second, "the lingering user's systemd manager", func() bool {
		_, err := e.h.UserSh(e2eUser, e2eUID, "systemctl --user is-system-running")
		return err == nil
	}) {
		out, _ := e.h.UserSh(e2eUser, e2eUID, "systemctl --user is-system-running; systemctl --user --failed --no-pager")
		e.fatalf("the lingering user's systemd manager is not running: %s", out)
	}
	if out, err := e.h.UserSh(e2eUser, e2eUID, "podman load -q -i /e2e/podexporter.tar"); err != nil {
		e.fatalf("load the image as %s: %v\n%s", e2eUser, err, out)
	}
	e.h.LoadImage(testenv.Image, e2eUser)
	e.col = e.h.StartCollector()
	t.Logf("%s host ready in %s (booted in %s)", hr.kind, time.Since(start).Round(time.Second), booted.Round(time.Second))

	for _, v := range variants() {
		if !selected(v.name) {
			continue
		}
		hr.rows = append(hr.rows, e.run(v))
	}
	if why := serviceLayerHere(hr.kind); why != "" {
		hr.serviceWhy = why
	} else {
		hr.service = e.serviceLayer()
	}
	if why := signedHere(hr.kind); why != "" {
		hr.signedWhy = why
	} else if selected("signed release") {
		hr.signed = e.signedRelease()
	}
	for _, r := range hr.rows {
		for _, c := range append(slices.Clone(checks), podmanChecks...) {
			if res, ok := r.cells[c.key]; ok && !res.ok {
				t.Errorf("%s: %s: %s: %s", hr.kind, r.variant, c.title, res.detail)
			}
		}
	}
	for _, r := range hr.service {
		for _, c := range serviceChecks {
			if res, ok := r.cells[c.key]; ok && !res.ok {
				t.Errorf("%s: service layer, %s: %s: %s", hr.kind, r.variant, c.title, res.detail)
			}
		}
	}
	for _, r := range hr.signed {
		for _, c := range signedChecks {
			if res, ok := r.cells[c.key]; ok && !res.ok {
				t.Errorf("%s: signed release, %s: %s: %s", hr.kind, r.variant, c.title, res.detail)
			}
		}
	}
	t.Logf("%s host: %s", hr.kind, time.Since(start).Round(time.Second))
}

// serviceLayerHere says why the service layer's rows do not run on a host, or ""
// when they do: SYSTEMD_E2E_SERVICE_HOSTS (comma separated; empty: every host) names
// the hosts that run them.
func serviceLayerHere(kind string) string {
	only := os.Getenv("SYSTEMD_E2E_SERVICE_HOSTS")
	if only == "" || slices.Contains(strings.Split(only, ","), kind) {
		return ""
	}
	return "not run on this host: SYSTEMD_E2E_SERVICE_HOSTS=" + only
}

// selected says whether SYSTEMD_E2E_ONLY (a regular expression; empty: all) picks the
// named row of either table.
func selected(name string) bool {
	only := os.Getenv("SYSTEMD_E2E_ONLY")
	return only == "" || regexp.MustCompile(only).MatchString(name)
}

func variants() []variant {
	quadlet := func(container string) func(e *e2e) {
		return func(e *e2e) {
			// README: copy the unit and the volume to /etc/containers/systemd/, then
			// systemctl daemon-reload. The endpoint as podexporter.container's
			// comment says, in a Quadlet drop-in so that the shipped file is used as is.
			base := filepath.Base(container)
			e.h.CopyIn(container, base)
			e.h.CopyIn(volumeUnit, "podexporter-state.volume")
			e.sh(fmt.Sprintf(`set -e
mkdir -p /etc/containers/systemd/%[1]s.d
install -m 0644 /e2e/%[1]s /e2e/podexporter-state.volume /etc/containers/systemd/
printf '[Container]\nEnvironment=OTEL_EXPORTER_OTLP_ENDPOINT=%[2]s\n' > /etc/containers/systemd/%[1]s.d/otlp.conf
systemctl daemon-reload`, base, otlpEndpoint))
		}
	}
	unquadlet := func(container string) func(e *e2e) {
		return func(e *e2e) {
			base := filepath.Base(container)
			e.sh(fmt.Sprintf(`rm -rf /etc/containers/systemd/%[1]s /etc/containers/systemd/%[1]s.d /etc/containers/systemd/podexporter-state.volume
systemctl daemon-reload; podman volume rm -f podexporter-state >/dev/null`, base))
		}
	}
	return []variant{
		{name: "Quadlet, rootful, state volume", unit: "podexporter.service", quadlet: true,
			install: quadlet(rootfulUnit), remove: unquadlet(rootfulUnit)},
		{name: "Quadlet, eBPF", unit: "podexporter-ebpf.service", quadlet: true,
			install: quadlet(ebpfUnit), remove: unquadlet(ebpfUnit)},
		{name: "Quadlet, rootless (systemctl --user, lingering)", unit: "podexporter.service", quadlet: true, user: true,
			install: func(e *e2e) {
				// README: deploy/quadlet/rootless/ to ~/.config/containers/systemd/ (with
				// the state volume, as the unit says), the user's podman.socket, then
				// systemctl --user daemon-reload.
				e.h.CopyIn(rootlessUnit, "rootless.container")
				e.h.CopyIn(volumeUnit, "podexporter-state.volume")
				e.userSh(fmt.Sprintf(`set -e
d=$HOME/.config/containers/systemd
mkdir -p $d/podexporter.container.d
cp /e2e/rootless.container $d/podexporter.container
cp /e2e/podexporter-state.volume $d/
printf '[Container]\nEnvironment=OTEL_EXPORTER_OTLP_ENDPOINT=%s\n' > $d/podexporter.container.d/otlp.conf
systemctl --user enable --now podman.socket
systemctl --user daemon-reload`, otlpEndpoint))
			},
			remove: func(e *e2e) {
				e.userSh(`rm -rf $HOME/.config/containers/systemd; systemctl --user daemon-reload; podman volume rm -f podexporter-state >/dev/null`)
			}},
		{name: "native podexporter.service", unit: "podexporter.service",
			install: func(e *e2e) {
				// The unit's own Install comment, which the README points to, run as
				// written from a directory holding the binary and deploy/systemd.
				for _, f := range []string{"podexporter.service", "podexporter.sysusers"} {
					e.h.CopyIn("systemd/"+f, f)
				}
				e.h.CopyIn("systemd/podman.socket.d/podexporter.conf", "socket-dropin.conf")
				e.sh(fmt.Sprintf(`set -e
mkdir -p /e2e/native/podman.socket.d && cd /e2e/native
cp /e2e/podexporter /e2e/podexporter.service /e2e/podexporter.sysusers .
cp /e2e/socket-dropin.conf podman.socket.d/podexporter.conf
%s
mkdir -p /etc/systemd/system/podexporter.service.d
printf '[Service]\nEnvironment=OTEL_EXPORTER_OTLP_ENDPOINT=%s\n' > /etc/systemd/system/podexporter.service.d/otlp.conf
systemctl daemon-reload`, installCommands(e.t, "systemd/podexporter.service"), otlpEndpoint))
			},
			remove: func(e *e2e) {
				e.sh(`systemctl disable podexporter 2>/dev/null; rm -rf /etc/systemd/system/podexporter.service /etc/systemd/system/podexporter.service.d; systemctl daemon-reload`)
			}},
	}
}

// installCommands returns the shell commands of a unit file's "# Install:" comment,
// with "enable --now" turned into "enable": the test starts the unit itself, and times it.
func installCommands(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	in := false
	for _, l := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(l, "# Install:"):
			in = true
		case in && strings.HasPrefix(l, "#   "):
			c := strings.TrimSpace(strings.TrimPrefix(l, "#"))
			c = strings.ReplaceAll(c, "enable --now ", "enable ")
			cmds = append(cmds, c)
		case in:
			in = false
		}
	}
	if len(cmds) == 0 {
		t.Fatalf("%s has no Install commands", file)
	}
	return strings.Join(cmds, "\n")
}

func (e *e2e) sh(script string) string {
	e.t.Helper()
	out, err := e.h.Sh(script)
	if err != nil {
		e.fatalf("%v\n%s", err, out)
	}
	return out
}

func (e *e2e) userSh(script string) string {
	e.t.Helper()
	out, err := e.h.UserSh(e2eUser, e2eUID, script)
	if err != nil {
		e.fatalf("as %s: %v\n%s", e2eUser, err, out)
	}
	return out
}

// as runs a script as root or, for a rootless variant, as the user.
func (e *e2e) as(v variant, script string) (string, error) {
	if v.user {
		return e.h.UserSh(e2eUser, e2eUID, script)
	}
	return e.h.Sh(script)
}

func systemctl(v variant) string {
	if v.user {
		return "systemctl --user"
	}
	return "systemctl"
}

// show reads one property of the variant's unit.
func (e *e2e) show(v variant, prop string) string {
	out, _ := e.as(v, systemctl(v)+" show -p "+prop+" --value "+v.unit)
	return out
}

func (e *e2e) eventually(timeout time.Duration, what string, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Logf("timed out after %s waiting for %s", timeout, what)
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
	return true
}

// httpCode asks an endpoint of the daemon inside the systemd host.
func (e *e2e) httpCode(path string) string {
	out, _ := e.h.Exec("curl", "-s", "-o", "/dev/null", "-m", "5", "-w", "%{http_code}", "http://127.0.0.1:9883"+path)
	return out
}

// logger starts a busybox container of the variant's Podman (rootful or the user's)
// that writes n numbered lines, one every pause, then sleeps. Host network: the
// rootless user has no slirp4netns or pasta here, and the lines are all that matters.
func (e *e2e) logger(v variant, name string, n int, pause string) error {
	script := fmt.Sprintf(`podman run -d --name %[1]s --network=host %[2]s sh -c 'i=1; while [ $i -le %[3]d ]; do echo "%[1]s line $i"; i=$((i+1)); %[4]s done; exec sleep 3600' >/dev/null`,
		name, testenv.Image, n, map[bool]string{true: "sleep " + pause + ";", false: ""}[pause != ""])
	_, err := e.as(v, script)
	return err
}

// delivered counts, per line, how often the collector received each line of the
// named container.
func (e *e2e) delivered(container string) map[string]int {
	got := map[string]int{}
	for _, r := range e.col.Logs() {
		if n, _ := r.Resource["container.name"].(string); n == container {
			got[r.Body]++
		}
	}
	return got
}

// lineCounts compares what arrived with the n lines a logger wrote.
func lineCounts(got map[string]int, container string, n int) (missing, dups int) {
	for i := 1; i <= n; i++ {
		c := got[fmt.Sprintf("%s line %d", container, i)]
		if c == 0 {
			missing++
		} else {
			dups += c - 1
		}
	}
	return missing, dups
}

// daemonPID is the podexporter process as the systemd host sees it: the container's
// init for Quadlet units, the main PID for the native one.
func (e *e2e) daemonPID(v variant) string {
	if v.quadlet {
		out, _ := e.as(v, "podman inspect -f '{{.State.Pid}}' podexporter")
		return out
	}
	return e.show(v, "MainPID")
}

func atoi(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

// cleanupContainers removes the variant's loggers.
func (e *e2e) cleanupContainers(v variant, names ...string) {
	_, _ = e.as(v, "podman rm -f -t 0 "+strings.Join(names, " ")+" >/dev/null 2>&1")
}

// hostDmesgSeccomp counts the VM kernel's seccomp audit records for podexporter: a
// syscall a filter denied with logging shows there, whatever the container's journal
// holds.
func hostDmesgSeccomp() int {
	out, err := exec.Command("dmesg").Output()
	if err != nil {
		return -1
	}
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "type=1326") && strings.Contains(l, "podexporter") {
			n++
		}
	}
	return n
}

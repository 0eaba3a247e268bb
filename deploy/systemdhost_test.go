//go:build systemd_e2e

package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
)

// SystemdHost is a privileged container booted with systemd as PID 1 from one of the
// Debian images scripts/systemd-host.sh prepares (HostKind), with the kind's Podman and
// Quadlet generator installed as a user of that Podman would have them: the closest
// this VM (no systemd of its own) gets to a real Podman host. It has its own network
// namespace, so podexporter's default port inside never meets another test's on the VM.
//
// Mounts, and why:
//   - a private cgroup namespace and a cgroup2 file system mounted from inside it (the
//     entry command does that before it execs systemd): systemd then runs in unified
//     mode on its own subtree, so it never touches the VM's shared cgroup tmpfs (with
//     the VM's hierarchies bind-mounted, systemd remounts that tmpfs read-only for the
//     whole VM), and rootless Podman gets the cgroup v2 delegation a user's systemd
//     gives it (on cgroup v1 it cannot create its own cgroups: --cgroups=split fails);
//     Podman 6 runs on cgroup v2 only;
//   - /var/lib/containers and /home on the VM's disk (a scratch directory): Podman's
//     overlay storage cannot sit on the container's own overlay root; fresh per host,
//     so no Podman meets another's database (Podman 6 refuses an old BoltDB);
//   - /e2e: a scratch directory both sides see, for binaries going in and the test
//     collector's output coming out.
type SystemdHost struct {
	// Name is the container's name on the VM.
	Name string
	// Dir is the VM side of /e2e.
	Dir string
	// Kind is what was booted; Facts what the booted host says it runs.
	Kind  HostKind
	Facts hostFacts
	t     testing.TB
	id    string
}

// StartSystemdHost boots a host of the kind named (DefaultSystemdHost, or one of
// HostKinds), waits for systemd to reach running, installs and configures its Podman
// and removes everything when the test ends, then checks that the VM is left as it
// was: the container gone, its cgroup gone, /sys/fs/cgroup writable. A kind that is not
// prepared is a missing component (a failure under CI=true); one that does not boot is
// a failure.
func StartSystemdHost(t testing.TB, kind string) *SystemdHost {
	t.Helper()
	testenv.SkipShort(t, "a booted systemd host")
	testenv.RequireRoot(t)
	k, err := hostKind(kind)
	if err != nil {
		testenv.Missing(t, err.Error(), fixSystemdHost)
		return nil
	}
	h, err := BootSystemdHost(t, k)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// BootSystemdHost is StartSystemdHost for a kind already read, returning what kept
// the host from booting or its Podman from being set up, so that a table can say so.
func BootSystemdHost(t testing.TB, k HostKind) (*SystemdHost, error) {
	t.Helper()
	scratch := t.TempDir()
	prefix := "systemd"
	if run := os.Getenv(SystemdHostRunEnv); run != "" {
		prefix += "-" + run
	}
	h := &SystemdHost{Name: testenv.UniqueName(prefix), Dir: filepath.Join(scratch, "e2e"), Kind: k, t: t}
	for _, d := range []string{"storage", "home", "e2e"} {
		if err := os.MkdirAll(filepath.Join(scratch, d), 0o755); err != nil {
			return nil, err
		}
	}
	entry := "umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec /lib/systemd/systemd"
	out, err := hostPodman("run", "-d", "--name", h.Name, "--hostname", "systemd-e2e",
		"--privileged", "--systemd=always", "--cgroupns=private", "--log-driver=k8s-file",
		"-v", filepath.Join(scratch, "storage")+":/var/lib/containers",
		"-v", filepath.Join(scratch, "home")+":/home",
		"-v", h.Dir+":/e2e",
		k.Image, "sh", "-c", entry).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("boot the %s systemd container: %v: %s", k.Name, err, out)
	}
	h.id = strings.TrimSpace(lastLines(out, 1))
	t.Cleanup(h.remove)

	// running, or degraded when a unit irrelevant here failed: both mean booted.
	var state string
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		state, _ = h.Exec("systemctl", "is-system-running")
		if state == "running" || state == "degraded" {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if state != "running" && state != "degraded" {
		failed, _ := h.Exec("systemctl", "--failed", "--no-pager")
		return nil, fmt.Errorf("systemd in %s (%s) did not boot within 90 s (state %q):\n%s", h.Name, k.Name, state, failed)
	}
	if k.PodmanDir != "" {
		for _, b := range []string{"podman", "quadlet"} {
			if err := h.copyIn(filepath.Join(k.PodmanDir, b), b); err != nil {
				return nil, err
			}
		}
	}
	if out, err := h.Sh(setupScript(k)); err != nil {
		return nil, fmt.Errorf("set up Podman on the %s host: %v\n%s", k.Name, err, out)
	}
	h.Facts = h.facts()
	t.Logf("%s host %s: %s, systemd %s, Podman %s, %s, %s, %s, %s", k.Name, h.Name, h.Facts.OS, h.Facts.Systemd,
		h.Facts.Podman, h.Facts.Runtime, h.Facts.Network, h.Facts.Conmon, h.Facts.Database)
	return h, nil
}

// lastLines returns the last n lines of b.
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// hostPodman runs the VM's podman with its events in a file rather than the journal:
// the many execs of this test stay out of the event stream other tests on the VM
// watch, and they still work while a fault test has the VM's journald down.
func hostPodman(args ...string) *exec.Cmd {
	return exec.Command("podman", append([]string{"--events-backend=file"}, args...)...)
}

// remove stops and removes the container and asserts the VM is as it was.
func (h *SystemdHost) remove() {
	t := h.t
	if t.Failed() {
		if out, err := h.Exec("journalctl", "--no-pager", "-n", "80", "-p", "warning"); err == nil {
			t.Logf("systemd container journal (warnings, last 80):\n%s", out)
		}
	}
	// systemd shuts down on SIGRTMIN+3; after 20 s Podman kills it.
	if out, err := hostPodman("rm", "-f", "-t", "20", h.Name).CombinedOutput(); err != nil {
		t.Errorf("remove the systemd container: %v: %s", err, out)
	}
	if err := HostRestored(h.Name, h.id); err != nil {
		t.Error(err)
	}
}

// HostRestored checks that the systemd container named name (full id id) left nothing
// behind on the VM: the container is gone, so is its cgroup, and the VM's cgroup tmpfs
// and cgroup2 mount are writable. A read-only cgroup tmpfs is remounted writable at once
// (other tests on the VM need it) and still reported.
func HostRestored(name, id string) error {
	var errs []error
	if exec.Command("podman", "container", "exists", name).Run() == nil {
		errs = append(errs, fmt.Errorf("the systemd container %s still exists", name))
	}
	if id != "" {
		for _, dir := range []string{"/sys/fs/cgroup/unified/libpod_parent/libpod-" + id, "/sys/fs/cgroup/systemd/libpod_parent/libpod-" + id} {
			if _, err := os.Stat(dir); err == nil {
				errs = append(errs, fmt.Errorf("the systemd container's cgroup %s is still there", dir))
			}
		}
	}
	for _, mnt := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st syscall.Statfs_t
		if err := syscall.Statfs(mnt, &st); err != nil {
			if errors.Is(err, syscall.ENOENT) {
				continue
			}
			errs = append(errs, fmt.Errorf("statfs %s: %w", mnt, err))
			continue
		}
		if st.Flags&syscall.MS_RDONLY == 0 {
			continue
		}
		errs = append(errs, fmt.Errorf("%s was left read-only by the systemd container", mnt))
		if out, err := exec.Command("mount", "-o", "remount,rw", mnt).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("remount %s rw: %w: %s", mnt, err, out))
		}
	}
	return errors.Join(errs...)
}

// Exec runs a command in the container and returns its output, trimmed; the error
// carries stderr.
func (h *SystemdHost) Exec(args ...string) (string, error) {
	return h.execIn(nil, nil, args...)
}

// Sh runs a shell script in the container as root.
func (h *SystemdHost) Sh(script string) (string, error) {
	return h.execIn(nil, nil, "sh", "-c", script)
}

// UserSh runs a shell script as user, with the environment a login session would give
// it (XDG_RUNTIME_DIR and the user bus, which systemctl --user and rootless Podman need).
func (h *SystemdHost) UserSh(user string, uid int, script string) (string, error) {
	rt := fmt.Sprintf("/run/user/%d", uid)
	return h.execIn([]string{"--user", user, "--workdir", "/home/" + user,
		"-e", "XDG_RUNTIME_DIR=" + rt, "-e", "DBUS_SESSION_BUS_ADDRESS=unix:path=" + rt + "/bus",
		"-e", "HOME=/home/" + user}, nil, "sh", "-c", script)
}

// Pipe runs a command in the container with stdin from r.
func (h *SystemdHost) Pipe(r io.Reader, args ...string) (string, error) {
	return h.execIn([]string{"-i"}, r, args...)
}

func (h *SystemdHost) execIn(opts []string, stdin io.Reader, args ...string) (string, error) {
	full := append([]string{"exec", "-e", "PODMAN_IGNORE_CGROUPSV1_WARNING=1"}, opts...)
	full = append(append(full, h.Name), args...)
	cmd := hostPodman(full...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := strings.TrimSpace(stdout.String())
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// CopyIn puts a file of the VM into /e2e/name in the container, readable by every user.
func (h *SystemdHost) CopyIn(src, name string) string {
	h.t.Helper()
	if err := h.copyIn(src, name); err != nil {
		h.t.Fatal(err)
	}
	return "/e2e/" + name
}

func (h *SystemdHost) copyIn(src, name string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(filepath.Join(h.Dir, name), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, st.Mode().Perm()|0o444)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// WriteFile writes data to /e2e/name and returns the path inside the container.
func (h *SystemdHost) WriteFile(name string, data []byte) string {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.Dir, name), data, 0o644); err != nil {
		h.t.Fatal(err)
	}
	return "/e2e/" + name
}

// LoadImage copies an image from the VM's Podman into the container's rootful Podman
// (and, when users are given, into each user's rootless storage).
func (h *SystemdHost) LoadImage(image string, users ...string) {
	h.t.Helper()
	name := strings.NewReplacer("/", "_", ":", "_").Replace(image) + ".tar"
	tar := filepath.Join(h.Dir, name)
	if out, err := hostPodman("save", "-o", tar, image).CombinedOutput(); err != nil {
		h.t.Fatalf("podman save %s: %v: %s", image, err, out)
	}
	if err := os.Chmod(tar, 0o644); err != nil {
		h.t.Fatal(err)
	}
	if out, err := h.Exec("podman", "load", "-q", "-i", "/e2e/"+name); err != nil {
		h.t.Fatalf("podman load %s in the systemd container: %v\n%s", image, err, out)
	}
	for _, u := range users {
		if out, err := h.Exec("runuser", "-u", u, "--", "sh", "-c", "cd && podman load -q -i /e2e/"+name); err != nil {
			h.t.Fatalf("podman load %s as %s: %v\n%s", image, u, err, out)
		}
	}
}

// StartCollector runs the real OpenTelemetry Collector inside the container as a
// transient systemd service, listening on the container's loopback (4317 gRPC, 4318
// HTTP), and returns it: Logs and Metrics read what it wrote into /e2e. Start and Stop
// do not apply to it; it ends with the container.
func (h *SystemdHost) StartCollector() *otelcoltest.Collector {
	t := h.t
	t.Helper()
	h.CopyIn(otelcoltest.Binary(t), "otelcol")
	c := otelcoltest.Attach(t, "127.0.0.1:4317", "http://127.0.0.1:4318", otelcoltest.Paths{
		Logs:    filepath.Join(h.Dir, "otel-logs.jsonl"),
		Metrics: filepath.Join(h.Dir, "otel-metrics.jsonl"),
		Fail:    filepath.Join(h.Dir, "otel-fail"),
		Output:  filepath.Join(h.Dir, "otel.log"),
	})
	h.WriteFile("otelcol.yaml", []byte(otelcoltest.Config(c.GRPCEndpoint, "127.0.0.1:4318", otelcoltest.Paths{
		Logs: "/e2e/otel-logs.jsonl", Metrics: "/e2e/otel-metrics.jsonl", Fail: "/e2e/otel-fail",
	})))
	if out, err := h.Exec("systemd-run", "--unit=e2e-otelcol", "--property=StandardOutput=append:/e2e/otel.log",
		"--property=StandardError=append:/e2e/otel.log", "/e2e/otelcol", "--config=file:/e2e/otelcol.yaml"); err != nil {
		t.Fatalf("start the collector in the systemd container: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The HTTP receiver answers any path (404 is an answer); both receivers start
		// together.
		if _, err := h.Exec("curl", "-s", "-o", "/dev/null", "http://127.0.0.1:4318/"); err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector in the systemd container did not listen within 30 s:\n%s", h.collectorLogTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// collectorLogTail returns the end of what the collector printed, for failure messages.
func (h *SystemdHost) collectorLogTail() string {
	b, _ := os.ReadFile(filepath.Join(h.Dir, "otel.log"))
	const max = 8 << 10
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

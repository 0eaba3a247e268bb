package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/podexporter/podexporter/internal/testenv"
)

// tools holds the binaries the tests build once per run: the real Quadlet generator
// from the Podman module in go.mod (so the units are checked by the same code that
// turns them into services on a host), and podexporter itself.
var tools struct {
	mu    sync.Mutex
	dir   string
	built map[string]string // package -> binary, or "" after a failed build
	errs  map[string]string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if tools.dir != "" {
		os.RemoveAll(tools.dir)
	}
	os.Exit(code)
}

// goBuild builds pkg with the project's tags once per test run and returns the binary.
func goBuild(t *testing.T, pkg string) string {
	t.Helper()
	tools.mu.Lock()
	defer tools.mu.Unlock()
	if tools.dir == "" {
		dir, err := os.MkdirTemp("", "podexporter-deploy-")
		if err != nil {
			t.Fatal(err)
		}
		tools.dir, tools.built, tools.errs = dir, map[string]string{}, map[string]string{}
	}
	if msg, failed := tools.errs[pkg]; failed {
		t.Fatal(msg)
	}
	if bin, ok := tools.built[pkg]; ok {
		return bin
	}
	bin := filepath.Join(tools.dir, filepath.Base(pkg))
	out, err := exec.Command("go", "build", "-tags", testenv.BuildTags, "-o", bin, pkg).CombinedOutput()
	if err != nil {
		tools.errs[pkg] = fmt.Sprintf("go build %s: %v\n%s", pkg, err, out)
		t.Fatal(tools.errs[pkg])
	}
	tools.built[pkg] = bin
	return bin
}

func quadlet(t *testing.T) string {
	return goBuild(t, "github.com/containers/podman/v5/cmd/quadlet")
}

func podexporter(t *testing.T) string {
	return goBuild(t, "github.com/podexporter/podexporter/cmd/podexporter")
}

// unit is a parsed systemd unit file: section name to its keys, each key to its values in
// order (systemd keys such as Volume= or ExecStart= may repeat).
type unit map[string]map[string][]string

func (u unit) get(section, key string) []string { return u[section][key] }

func (u unit) one(t *testing.T, section, key string) string {
	t.Helper()
	v := u.get(section, key)
	if len(v) != 1 {
		t.Fatalf("[%s] %s= has %d values %q, want one", section, key, len(v), v)
	}
	return v[0]
}

// parseUnit reads systemd's unit syntax: sections, Key=Value, # and ; comments, and
// lines continued with a trailing backslash.
func parseUnit(t *testing.T, text string) unit {
	t.Helper()
	u := unit{}
	section := ""
	var pending string
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if pending == "" && (line == "" || line[0] == '#' || line[0] == ';') {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			pending += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		line, pending = pending+line, ""
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			t.Fatalf("not a unit file line: %q", line)
		}
		u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
	}
	return u
}

// splitExec splits a command line the way systemd splits ExecStart=: words separated by
// spaces, double or single quotes grouping, and C-style escapes (\x20, \", \\).
func splitExec(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'x':
				if i+2 >= len(s) {
					t.Fatalf("bad escape in %q", s)
				}
				b, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
				if err != nil {
					t.Fatalf("bad escape in %q: %v", s, err)
				}
				cur.WriteByte(byte(b))
				i += 2
			case 'n':
				cur.WriteByte('\n')
			case 't':
				cur.WriteByte('\t')
			default:
				cur.WriteByte(s[i])
			}
			inWord = true
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// generate runs the Quadlet generator in dry-run mode on the given unit files, copied
// into a private directory (QUADLET_UNIT_DIRS also searches subdirectories, so pointing
// it at deploy/quadlet would see the rootless unit beside the rootful one), and returns
// the generated services by file name.
func generate(t *testing.T, user bool, files ...string) map[string]unit {
	t.Helper()
	bin := quadlet(t)
	dir := t.TempDir()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"-dryrun"}
	if user {
		args = append(args, "-user")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "QUADLET_UNIT_DIRS="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("quadlet %v: %v\n%s", args, err, stderr.String())
	}
	// Quadlet reports unknown or unsupported keys as warnings and still succeeds.
	for _, bad := range []string{"unsupported", "unknown key", "error", "warning"} {
		if strings.Contains(strings.ToLower(stderr.String()), bad) {
			t.Errorf("quadlet reported %q:\n%s", bad, stderr.String())
		}
	}
	services := map[string]unit{}
	var name string
	var body strings.Builder
	flush := func() {
		if name != "" {
			services[name] = parseUnit(t, body.String())
		}
		body.Reset()
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(line, "---") && strings.HasSuffix(line, "---") && len(line) > 6 {
			flush()
			name = filepath.Base(strings.Trim(line, "-"))
			continue
		}
		body.WriteString(line + "\n")
	}
	flush()
	return services
}

// podmanRun is the generated ExecStart split into podman's own options and the
// container's arguments.
type podmanRun struct {
	argv    []string // the whole command
	options []string // podman run options, with values joined as "--opt value"
	image   string
	args    []string // after the image: podexporter's flags
}

// parsePodmanRun understands exactly the podman run options Quadlet emits for these
// units; an option it does not know fails the test, so a new one gets looked at.
func parsePodmanRun(t *testing.T, execStart string) podmanRun {
	t.Helper()
	argv := splitExec(t, execStart)
	if len(argv) < 2 || filepath.Base(argv[0]) != "podman" || argv[1] != "run" {
		t.Fatalf("ExecStart is not podman run: %q", execStart)
	}
	withValue := map[string]bool{
		"--name": true, "--network": true, "--security-opt": true, "--cap-drop": true, "--cap-add": true,
		"-v": true, "--label": true, "--health-cmd": true, "--health-interval": true,
		"--health-on-failure": true, "--health-retries": true, "--health-start-period": true,
		"--health-timeout": true, "--group-add": true,
	}
	flagOnly := map[string]bool{"--replace": true, "--rm": true, "-d": true, "--read-only": true}
	r := podmanRun{argv: argv}
	i := 2
	for ; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "-") {
			break
		}
		name, _, hasEq := strings.Cut(a, "=")
		switch {
		case hasEq:
			r.options = append(r.options, a)
		case withValue[a] && i+1 < len(argv):
			r.options = append(r.options, a+" "+argv[i+1])
			i++
		case flagOnly[a]:
			r.options = append(r.options, a)
		default:
			t.Fatalf("podman run option %q (%s) unknown to the test; teach parsePodmanRun about it", a, name)
		}
	}
	if i >= len(argv) {
		t.Fatalf("no image in %q", execStart)
	}
	r.image, r.args = argv[i], argv[i+1:]
	return r
}

func (r podmanRun) has(opt string) bool { return slices.Contains(r.options, opt) }

func (r podmanRun) values(prefix string) []string {
	var v []string
	for _, o := range r.options {
		if after, ok := strings.CutPrefix(o, prefix); ok {
			v = append(v, after)
		}
	}
	return v
}

const (
	rootfulUnit  = "quadlet/podexporter.container"
	ebpfUnit     = "quadlet/podexporter-ebpf.container"
	rootlessUnit = "quadlet/rootless/podexporter.container"
	volumeUnit   = "quadlet/podexporter-state.volume"
)

// hostMounts are the host paths every variant mounts, all read-only.
var hostMounts = []string{"/var/log/journal", "/run/log/journal", "/etc/machine-id", "/proc", "/sys/fs/cgroup"}

// rootfulServiceMounts are what the rootful units mount for the service layer: the
// system manager's socket directory, the users' runtime directories (rslave: logind
// mounts them later) and the Quadlet directory the unit itself is in.
var rootfulServiceMounts = map[string]string{
	"/run/systemd":            "/run/systemd",
	"/run/user":               "/run/user",
	"/etc/containers/systemd": "/etc/containers/systemd",
}

// rootlessServiceMounts are the rootless unit's: its own manager's socket directory
// and its own Quadlet directory, at the same paths inside.
var rootlessServiceMounts = map[string]string{
	"%t/systemd":                    "%t/systemd",
	"%h/.config/containers/systemd": "%h/.config/containers/systemd",
}

// checkCommon asserts what every variant shares: a read-only root, no capabilities but
// those named, host network, sd_notify through conmon, the built-in healthcheck, SELinux
// labels left alone, read-only host mounts never relabelled, and the state volume;
// extra are the variant's own mounts (source to destination).
func checkCommon(t *testing.T, svc unit, r podmanRun, socketSource, socketDest string, extra map[string]string) {
	t.Helper()
	for _, opt := range []string{"--read-only", "--cap-drop all", "--network host", "--sdnotify=container",
		"--security-opt label=disable", "--security-opt=no-new-privileges", "--health-on-failure kill"} {
		if !r.has(opt) {
			t.Errorf("podman run lacks %s: %q", opt, r.argv)
		}
	}
	for _, forbidden := range []string{"--privileged", "--pid", "--userns", "--cgroupns", "--ipc", "--uts"} {
		for _, o := range r.options {
			if strings.HasPrefix(o, forbidden) {
				t.Errorf("podman run has %s", o)
			}
		}
	}
	if hc := r.values("--health-cmd "); len(hc) != 1 {
		t.Errorf("want one --health-cmd, got %q", hc)
	} else {
		// JSON form: the image has no shell for Podman's CMD-SHELL wrapping.
		var cmd []string
		if err := json.Unmarshal([]byte(hc[0]), &cmd); err != nil || !slices.Equal(cmd, []string{"/podexporter", "healthcheck"}) {
			t.Errorf("--health-cmd %q, want the JSON array [\"/podexporter\",\"healthcheck\"] (%v)", hc[0], err)
		}
	}
	want := map[string]string{"podexporter-state": "/var/lib/podexporter", socketSource: socketDest}
	for src, dst := range extra {
		want[src] = dst
	}
	for _, m := range hostMounts {
		want[m] = map[string]string{"/proc": "/host/proc"}[m]
		if want[m] == "" {
			want[m] = m
		}
	}
	got := map[string]string{}
	for _, v := range r.values("-v ") {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 {
			t.Errorf("volume %q is not SOURCE:DEST[:OPTIONS]", v)
			continue
		}
		got[parts[0]] = parts[1]
		opts := ""
		if len(parts) == 3 {
			opts = parts[2]
		}
		for _, o := range strings.Split(opts, ",") {
			if o == "z" || o == "Z" {
				t.Errorf("volume %q is relabelled (%s): it would change the host's labels", v, o)
			}
		}
		if strings.HasPrefix(parts[0], "/") || strings.HasPrefix(parts[0], "%") {
			if !slices.Contains(strings.Split(opts, ","), "ro") {
				t.Errorf("host path %q is not mounted read-only", v)
			}
		}
		// A user's runtime directory is mounted by logind when the user logs in or
		// lingers, often after podexporter started: only a slave mount shows it.
		if parts[0] == "/run/user" && !slices.Contains(strings.Split(opts, ","), "rslave") {
			t.Errorf("volume %q lacks rslave: users' runtime directories mounted later would stay invisible", v)
		}
	}
	for src, dst := range want {
		if got[src] != dst {
			t.Errorf("volume %s: mounted at %q, want %q (all: %q)", src, got[src], dst, r.values("-v "))
		}
	}
	if len(got) != len(want) {
		t.Errorf("volumes %q, want exactly %v", r.values("-v "), want)
	}
	if r.image != "localhost/podexporter:latest" {
		t.Errorf("image %q", r.image)
	}
	for _, flag := range []string{"--podman.socket=unix://" + socketDest, "--podman.proc-root=/host/proc", "--state.directory=/var/lib/podexporter"} {
		if !slices.Contains(r.args, flag) {
			t.Errorf("podexporter arguments %q lack %s", r.args, flag)
		}
	}
	if typ := svc.one(t, "Service", "Type"); typ != "notify" {
		t.Errorf("Type=%s, want notify (Notify=true)", typ)
	}
	if !slices.Contains(svc.get("Unit", "Requires"), "podexporter-state-volume.service") {
		t.Errorf("the service does not require the state volume's service: %q", svc.get("Unit", "Requires"))
	}
}

func generated(t *testing.T, user bool, container string) (unit, podmanRun, map[string]unit) {
	t.Helper()
	services := generate(t, user, container, volumeUnit)
	name := strings.TrimSuffix(filepath.Base(container), ".container") + ".service"
	svc, ok := services[name]
	if !ok {
		t.Fatalf("quadlet generated %v, not %s", slices.Collect(mapKeys(services)), name)
	}
	return svc, parsePodmanRun(t, svc.one(t, "Service", "ExecStart")), services
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestQuadletRootful(t *testing.T) {
	svc, r, services := generated(t, false, rootfulUnit)
	checkCommon(t, svc, r, "/run/podman/podman.sock", "/run/podman/podman.sock", rootfulServiceMounts)
	// Only the users' systemd sockets (0600 in 0700 directories of their own) need a
	// capability: the unit's comment says why this one.
	if caps := r.values("--cap-add "); !slices.Equal(caps, []string{"cap_dac_override"}) {
		t.Errorf("rootful unit adds capabilities %q; want CAP_DAC_OVERRIDE alone", caps)
	}
	vol := services["podexporter-state-volume.service"]
	if vol == nil {
		t.Fatal("no service for podexporter-state.volume")
	}
	if ex := vol.one(t, "Service", "ExecStart"); !strings.HasSuffix(ex, " podexporter-state") || !strings.Contains(ex, "podman volume create") {
		t.Errorf("volume service ExecStart %q does not create podexporter-state", ex)
	}
	t.Logf("generated ExecStart: %s", svc.one(t, "Service", "ExecStart"))
}

// TestQuadletEBPF checks that the eBPF variant is the rootful unit plus exactly the two
// capabilities and the flag, and nothing else in the podman command.
func TestQuadletEBPF(t *testing.T) {
	_, base, _ := generated(t, false, rootfulUnit)
	svc, r, _ := generated(t, false, ebpfUnit)
	checkCommon(t, svc, r, "/run/podman/podman.sock", "/run/podman/podman.sock", rootfulServiceMounts)
	var added []string
	for _, o := range r.options {
		if !slices.Contains(base.options, o) {
			added = append(added, o)
		}
	}
	// Quadlet writes one --cap-add per capability, in lower case.
	var caps []string
	for _, o := range added {
		c, ok := strings.CutPrefix(o, "--cap-add ")
		if !ok {
			t.Errorf("eBPF variant adds podman option %q; only capabilities may differ", o)
			continue
		}
		for _, one := range strings.Split(c, ",") {
			caps = append(caps, strings.ToUpper(one))
		}
	}
	slices.Sort(caps)
	if !slices.Equal(caps, []string{"CAP_BPF", "CAP_NET_ADMIN"}) {
		t.Errorf("eBPF variant adds capabilities %q, want exactly CAP_BPF and CAP_NET_ADMIN", caps)
	}
	for _, o := range base.options {
		if !slices.Contains(r.options, o) {
			t.Errorf("eBPF variant drops %q", o)
		}
	}
	if want := append(slices.Clone(base.args), "--ebpf.enable"); !slices.Equal(r.args, want) {
		t.Errorf("eBPF variant arguments %q, want %q", r.args, want)
	}
	if c := svc.get("Unit", "Conflicts"); !slices.Contains(c, "podexporter.service") {
		t.Errorf("eBPF variant does not conflict with podexporter.service (Conflicts=%q)", c)
	}
}

func TestQuadletRootless(t *testing.T) {
	svc, r, _ := generated(t, true, rootlessUnit)
	// The same path inside as outside: podexporter names the service from it, and the
	// user's series must say rootless-UID, not rootful.
	checkCommon(t, svc, r, "%t/podman/podman.sock", "%t/podman/podman.sock", rootlessServiceMounts)
	if caps := r.values("--cap-add"); len(caps) != 0 {
		t.Errorf("rootless unit adds capabilities %q", caps)
	}
	if g := r.values("--group-add "); !slices.Equal(g, []string{"keep-groups"}) {
		t.Errorf("--group-add %q, want keep-groups (systemd-journal membership)", g)
	}
	if w := svc.get("Install", "WantedBy"); !slices.Contains(w, "default.target") {
		t.Errorf("rootless WantedBy=%q, want default.target", w)
	}
}

// TestSystemdService checks the hardening of the native unit, since systemd-analyze
// verify needs a running systemd, and runs its ExecStart's flags through podexporter's
// own parser and validation (the version subcommand parses and validates every flag and
// then exits without starting anything).
func TestSystemdService(t *testing.T) {
	data, err := os.ReadFile("systemd/podexporter.service")
	if err != nil {
		t.Fatal(err)
	}
	u := parseUnit(t, string(data))
	want := map[string]string{
		"Type": "notify", "NotifyAccess": "main", "WatchdogSec": "30s",
		"User": "podexporter", "SupplementaryGroups": "systemd-journal", "StateDirectory": "podexporter",
		"NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
		"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
		"ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
		"ProtectControlGroups": "yes", "ProtectClock": "yes", "ProtectHostname": "yes",
		"RestrictNamespaces": "yes", "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes",
		"LockPersonality": "yes", "MemoryDenyWriteExecute": "yes", "SystemCallArchitectures": "native",
		"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6", "RestartPreventExitStatus": "2",
	}
	for k, v := range want {
		if got := u.get("Service", k); len(got) != 1 || got[0] != v {
			t.Errorf("[Service] %s=%q, want %q", k, got, v)
		}
	}
	if f := u.get("Service", "SystemCallFilter"); !slices.Contains(f, "@system-service") {
		t.Errorf("SystemCallFilter=%q lacks @system-service", f)
	}
	// These would hide other users' /proc/<pid>/net/dev and /proc/vmstat.
	for _, k := range []string{"ProtectProc", "ProcSubset", "DynamicUser", "PrivateUsers"} {
		if v := u.get("Service", k); len(v) != 0 {
			t.Errorf("[Service] %s=%q must not be set (see the unit's comment)", k, v)
		}
	}
	argv := splitExec(t, u.one(t, "Service", "ExecStart"))
	if filepath.Base(argv[0]) != "podexporter" {
		t.Fatalf("ExecStart runs %q", argv[0])
	}
	if !slices.Contains(argv, "--state.directory=/var/lib/podexporter") {
		t.Errorf("ExecStart %q does not use the StateDirectory", argv)
	}
	validateFlags(t, argv[1:])

	// The sysusers file creates the User= and puts it in SupplementaryGroups=.
	sysusers, err := os.ReadFile("systemd/podexporter.sysusers")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"u podexporter ", "m podexporter systemd-journal"} {
		if !strings.Contains(string(sysusers), "\n"+line) {
			t.Errorf("podexporter.sysusers lacks %q", line)
		}
	}
	drop, err := os.ReadFile("systemd/podman.socket.d/podexporter.conf")
	if err != nil {
		t.Fatal(err)
	}
	if g := parseUnit(t, string(drop)).get("Socket", "SocketGroup"); !slices.Equal(g, []string{"podexporter"}) {
		t.Errorf("podman.socket drop-in SocketGroup=%q, want podexporter", g)
	}
}

// TestQuadletFlags runs each unit's podexporter arguments through the binary's parser.
// /host/proc exists only inside the container, so it is checked as /proc here; the
// end-to-end test runs the real path in the container.
func TestQuadletFlags(t *testing.T) {
	for _, c := range []struct {
		file string
		user bool
	}{{rootfulUnit, false}, {ebpfUnit, false}, {rootlessUnit, true}} {
		t.Run(filepath.Base(filepath.Dir(c.file))+"/"+filepath.Base(c.file), func(t *testing.T) {
			_, r, _ := generated(t, c.user, c.file)
			args := slices.Clone(r.args)
			for i, a := range args {
				if a == "--podman.proc-root=/host/proc" {
					args[i] = "--podman.proc-root=/proc"
				}
				// systemd expands %t in ExecStart: the user manager's runtime directory.
				args[i] = strings.ReplaceAll(args[i], "%t", "/run/user/1000")
			}
			validateFlags(t, args)
		})
	}
}

// validateFlags parses and validates args with the version subcommand, which exits 0
// only when every flag is known and valid (exit 2 names the bad one).
func validateFlags(t *testing.T, args []string) {
	t.Helper()
	cmd := exec.Command(podexporter(t), append(slices.Clone(args), "version")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Errorf("podexporter %q: %v: %s", args, err, stderr.String())
	}
}

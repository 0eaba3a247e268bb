//go:build systemd_e2e

package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podexporter/podexporter/internal/testenv"
)

// The kinds of booted host scripts/systemd-host.sh prepares: what users run, from
// Debian's packages, and the Podman versions we build.

// HostKind is one kind of booted host: the image to boot and, where the kind runs a
// Podman we build, the directory with that podman and its Quadlet generator.
type HostKind struct {
	// Name is what systemd-host.sh was asked for: bookworm, trixie, forky, podman6.
	Name  string
	Image string
	// PodmanDir holds podman and quadlet built from their module, installed over
	// Debian's; empty for a host that runs the distribution's own Podman.
	PodmanDir string
}

// The environment scripts/systemd-host.sh prints: the kinds prepared, comma separated,
// and per kind its image and (for a built Podman) the binaries' directory.
// SYSTEMD_HOST_RUN, when set, goes into the host containers' names, so that the
// script that set it can remove its own run's hosts and no one else's.
const (
	SystemdHostsEnv     = "SYSTEMD_E2E_HOSTS"
	SystemdImageEnvPfx  = "SYSTEMD_E2E_IMAGE_"
	SystemdPodmanEnvPfx = "SYSTEMD_E2E_PODMAN_"
	SystemdHostRunEnv   = "SYSTEMD_HOST_RUN"
	// DefaultSystemdHost is what systemd-host.sh prepares when asked for nothing.
	DefaultSystemdHost = "bookworm"
)

const fixSystemdHost = "run 'make systemd-e2e' (scripts/systemd-host.sh prepares the images and the Podman builds)"

// HostKinds are the kinds the environment names, in its order. None is a missing
// component (a failure under CI=true).
func HostKinds(t testing.TB) []string {
	t.Helper()
	var kinds []string
	for _, k := range strings.Split(os.Getenv(SystemdHostsEnv), ",") {
		if k = strings.TrimSpace(k); k != "" {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		testenv.Missing(t, SystemdHostsEnv+" is not set", fixSystemdHost)
	}
	return kinds
}

// hostKind reads one kind's image and binaries from the environment and checks that
// they are there.
func hostKind(name string) (HostKind, error) {
	k := HostKind{Name: name, Image: os.Getenv(SystemdImageEnvPfx + name), PodmanDir: os.Getenv(SystemdPodmanEnvPfx + name)}
	if k.Image == "" {
		return k, fmt.Errorf("%s%s is not set", SystemdImageEnvPfx, name)
	}
	if err := hostPodman("image", "exists", k.Image).Run(); err != nil {
		return k, fmt.Errorf("the systemd image %s is missing", k.Image)
	}
	if k.PodmanDir != "" {
		for _, b := range []string{"podman", "quadlet"} {
			if _, err := os.Stat(filepath.Join(k.PodmanDir, b)); err != nil {
				return k, fmt.Errorf("no built %s in %s", b, k.PodmanDir)
			}
		}
	}
	if setupScript(k) == "" {
		return k, fmt.Errorf("unknown host kind %q", name)
	}
	return k, nil
}

// The engine settings every host needs on this VM, whichever Podman it runs: open file
// limits below the VM's hard limit (Podman's default is above it, and containers fail
// in setrlimit); pids_limit=0 because the host's cgroup2 has no controllers (the VM
// binds them all to cgroup v1), so there is no pids.max to write; logs and events in
// journald, which podexporter reads (written down so that the test does not depend on
// a distribution's default).
const engineConf = `[containers]
default_ulimits = ["nofile=1024:1024","nproc=1024:1024"]
log_driver = "journald"
pids_limit = 0
[engine]
events_logger = "journald"
`

// builtPodman installs the podman and quadlet in /e2e over Debian's: Debian's units,
// conmon and containers-common stay, as they would for a user who builds Podman.
const builtPodman = `install -m 0755 /e2e/podman /usr/bin/podman
install -D -m 0755 /e2e/quadlet /usr/libexec/podman/quadlet
ln -sf /usr/libexec/podman/quadlet /usr/lib/systemd/system-generators/podman-system-generator
mkdir -p /usr/lib/systemd/user-generators
ln -sf /usr/libexec/podman/quadlet /usr/lib/systemd/user-generators/podman-user-generator
`

// setupScript turns the booted image into the kind's Podman host, or is empty for an
// unknown kind.
func setupScript(k HostKind) string {
	conf := "mkdir -p /etc/containers\ncat > /etc/containers/containers.conf <<'EOF'\n" + engineConf
	switch k.Name {
	case "bookworm":
		// Podman 5 over Debian 12's 4.3. runc: the runtime Debian 12 installs with
		// it. CNI: Debian 12's netavark (1.4) predates what Podman 5 expects of it.
		// Debian's seccomp.json is from containers-common 0.50 and refuses bpf(2) to
		// CAP_BPF alone; without the file Podman 5 uses the profile built into it,
		// which is what a Podman 5 host's containers-common ships.
		// PODMAN_IGNORE_CGROUPSV1_WARNING: Podman 5 warns on every command of a
		// cgroup v1 host; this host is cgroup v2, so it only keeps such a warning out
		// of the units' logs should the layout change.
		return "set -eu\n" + builtPodman + "rm -f /usr/share/containers/seccomp.json\n" + conf +
			`runtime = "runc"
network_backend = "cni"
database_backend = "sqlite"
EOF
mkdir -p /etc/systemd/system.conf.d /etc/systemd/user.conf.d
printf '[Manager]\nDefaultEnvironment=PODMAN_IGNORE_CGROUPSV1_WARNING=1\n' > /etc/systemd/system.conf.d/podman5.conf
cp /etc/systemd/system.conf.d/podman5.conf /etc/systemd/user.conf.d/podman5.conf
systemctl daemon-reexec
` + restartSocket
	case "trixie", "forky":
		// The distribution's own Podman as Debian installs it: its runtime, network
		// backend and database are its defaults; only what this VM needs changes.
		return "set -eu\n" + conf + "EOF\n" + restartSocket
	case "podman6":
		// Podman 6 over Debian testing's Podman: forky's netavark (Podman 6 has no
		// CNI, and Debian 12's netavark is too old for it) and crun. Podman 6 has no
		// BoltDB: the storage is fresh (a scratch directory per host), so it starts
		// on SQLite.
		return "set -eu\n" + builtPodman + conf + "EOF\n" + restartSocket
	}
	return ""
}

// restartSocket makes the next API connection start the Podman just configured:
// something asks the socket during boot, so Debian's Podman may already serve it, and
// a rootful Podman host serves its API through podman.socket (the rootful units mount
// it), enabled as a user enables it.
const restartSocket = `systemctl stop podman.service podman.socket
systemctl enable --now podman.socket
podman --version
`

// hostFacts are what the booted host says it is, for the tables.
type hostFacts struct {
	OS, Systemd, Podman, Runtime, Network, Conmon, Database string
}

// facts asks the booted host what it runs: its OS, systemd, and Podman's own info
// (versions as their first line says them: "crun version 1.21", "netavark 1.14.0").
func (h *SystemdHost) facts() hostFacts {
	var f hostFacts
	f.OS, _ = h.Sh(`. /etc/os-release; echo "$PRETTY_NAME"`)
	sd, _ := h.Sh("systemctl --version | head -1")
	if w := strings.Fields(sd); len(w) >= 2 {
		f.Systemd = w[1]
	}
	ask := func(tmpl string) string {
		out, err := h.Exec("podman", "info", "--format", tmpl)
		if err != nil {
			return "?"
		}
		out, _, _ = strings.Cut(out, "\n")
		return strings.TrimSpace(out)
	}
	f.Podman = ask("{{.Version.Version}}")
	f.Runtime = ask("{{.Host.OCIRuntime.Version}}")
	f.Network = ask("{{.Host.NetworkBackend}}")
	if v := ask("{{.Host.NetworkBackendInfo.Version}}"); v != "" && v != "?" {
		f.Network = v
	}
	f.Conmon, _, _ = strings.Cut(ask("{{.Host.Conmon.Version}}"), ",")
	f.Database = ask("{{.Host.DatabaseBackend}}")
	return f
}

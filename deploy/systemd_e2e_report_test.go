//go:build systemd_e2e

package deploy

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// The e2e's tables: per host, the variants with their checks, the Podman columns and
// the service layer; over all hosts, a host x check summary. docs/platforms.md is
// these tables (SYSTEMD_E2E_REPORT=1).

// formatPlatformTable is a row x check table in Markdown; first heads the rows' column.
func formatPlatformTable(first string, cols []column, rows []row) string {
	var b strings.Builder
	b.WriteString("| " + first + " |")
	for _, c := range cols {
		b.WriteString(" " + c.title + " |")
	}
	b.WriteString("\n|---|")
	b.WriteString(strings.Repeat("---|", len(cols)))
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + r.variant + " |")
		for _, c := range cols {
			res, ok := r.cells[c.key]
			switch {
			case !ok:
				b.WriteString(" - |")
			case res.na:
				b.WriteString(" n/a: " + escapeCell(res.detail) + " |")
			case res.ok:
				b.WriteString(" pass: " + escapeCell(res.detail) + " |")
			default:
				b.WriteString(" **FAIL**: " + escapeCell(res.detail) + " |")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func escapeCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// hostTitle names a host as the tables do: the kind and what it runs.
func hostTitle(hr *hostRun) string {
	f := hr.facts
	if f.OS == "" {
		return hr.kind
	}
	podman := "Podman " + f.Podman + " (Debian's)"
	if hr.built {
		podman = "Podman " + f.Podman + " (built from its module)"
	}
	return fmt.Sprintf("%s: %s, systemd %s, %s", hr.kind, f.OS, f.Systemd, podman)
}

// formatHostTables is one host's tables: its variants' checks, the Podman columns and
// the service layer's rows.
func formatHostTables(hr *hostRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", hostTitle(hr))
	if hr.failed != "" {
		fmt.Fprintf(&b, "**Did not run**: %s\n\n", escapeCell(hr.failed))
	}
	if hr.facts.OS != "" {
		fmt.Fprintf(&b, "Runtime: %s; network: %s; %s; database: %s; the host's run took %s.\n\n",
			orDefault(hr.facts.Runtime, "?"), orDefault(hr.facts.Network, "?"), orDefault(hr.facts.Conmon, "?"),
			orDefault(hr.facts.Database, "?"), hr.took.Round(time.Second))
	}
	if len(hr.rows) > 0 {
		b.WriteString(formatPlatformTable("variant", checks, hr.rows) + "\n")
		b.WriteString(formatPlatformTable("variant: what podexporter reports of the host's Podman", podmanChecks, hr.rows) + "\n")
	}
	switch {
	case len(hr.service) > 0:
		b.WriteString(formatPlatformTable("service layer: manager, watched by", serviceChecks, hr.service) + "\n")
	case hr.serviceWhy != "":
		fmt.Fprintf(&b, "Service layer: %s.\n\n", hr.serviceWhy)
	}
	if len(hr.signed) > 0 {
		b.WriteString(formatPlatformTable("signed release path (docs/deploy-signed.md)", signedChecks, hr.signed) + "\n")
	}
	return b.String()
}

// summaryCell sums one check over a host's rows: how many pass of those it applies
// to, and which fail.
func summaryCell(rows []row, key string) string {
	pass, na, total := 0, 0, 0
	var failed []string
	for _, r := range rows {
		c, ok := r.cells[key]
		if !ok {
			continue
		}
		total++
		switch {
		case c.na:
			na++
		case c.ok:
			pass++
		default:
			failed = append(failed, r.variant)
		}
	}
	switch {
	case total == 0:
		return "-"
	case na == total:
		return "n/a"
	case len(failed) > 0:
		return fmt.Sprintf("**FAIL** %d/%d: %s", len(failed), total-na, strings.Join(failed, "; "))
	}
	s := fmt.Sprintf("pass %d/%d", pass, total-na)
	if na > 0 {
		s += fmt.Sprintf(" (n/a %d)", na)
	}
	return s
}

// formatHostSummary is the host x check table: each check summed over the host's
// variants (and the service layer's checks over its rows).
func formatHostSummary(runs []*hostRun) string {
	var b strings.Builder
	cols := append(slices.Clone(checks), podmanChecks...)
	b.WriteString("| host | Podman, runtime, network |")
	for _, c := range cols {
		b.WriteString(" " + c.title + " |")
	}
	b.WriteString(" service layer (all checks) | signed release path (all checks) |\n|---|---|")
	b.WriteString(strings.Repeat("---|", len(cols)+2))
	b.WriteString("\n")
	for _, hr := range runs {
		f := hr.facts
		what := "-"
		if f.Podman != "" {
			what = fmt.Sprintf("%s; %s; %s", f.Podman, f.Runtime, f.Network)
		}
		title := hr.kind
		if f.OS != "" {
			title = fmt.Sprintf("%s (%s, systemd %s)", hr.kind, f.OS, f.Systemd)
		}
		fmt.Fprintf(&b, "| %s | %s |", escapeCell(title), escapeCell(what))
		if hr.failed != "" && len(hr.rows) == 0 {
			fmt.Fprintf(&b, " **did not run**: %s |%s\n", escapeCell(shorten(hr.failed, 300)), strings.Repeat(" - |", len(cols)+1))
			continue
		}
		for _, c := range cols {
			b.WriteString(" " + escapeCell(summaryCell(hr.rows, c.key)) + " |")
		}
		b.WriteString(" " + escapeCell(serviceSummary(hr)) + " | " + escapeCell(signedSummary(hr)) + " |\n")
	}
	return b.String()
}

// serviceSummary sums the service layer's cells of one host.
func serviceSummary(hr *hostRun) string {
	if len(hr.service) == 0 {
		return orDefault(hr.serviceWhy, "-")
	}
	pass, na, total := 0, 0, 0
	var failed []string
	for _, r := range hr.service {
		for _, c := range serviceChecks {
			res, ok := r.cells[c.key]
			if !ok {
				continue
			}
			total++
			switch {
			case res.na:
				na++
			case res.ok:
				pass++
			default:
				failed = append(failed, r.variant+": "+c.title)
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Sprintf("**FAIL** %d/%d: %s", len(failed), total-na, strings.Join(failed, "; "))
	}
	return fmt.Sprintf("pass %d/%d (n/a %d)", pass, total-na, na)
}

// signedSummary sums the signed release path's cells of one host.
func signedSummary(hr *hostRun) string {
	if len(hr.signed) == 0 {
		return orDefault(hr.signedWhy, "-")
	}
	pass, total := 0, 0
	var failed []string
	for _, r := range hr.signed {
		for _, c := range signedChecks {
			if res, ok := r.cells[c.key]; ok {
				total++
				if res.ok {
					pass++
				} else {
					failed = append(failed, r.variant+": "+c.title)
				}
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Sprintf("**FAIL** %d/%d: %s", len(failed), total, strings.Join(failed, "; "))
	}
	return fmt.Sprintf("pass %d/%d", pass, total)
}

// writePlatformReport writes docs/platforms.md: what was booted, the summary and each
// host's tables.
func writePlatformReport(runs []*hostRun, took time.Duration) error {
	var hosts strings.Builder
	for _, hr := range runs {
		hosts.WriteString(formatHostTables(hr))
	}
	doc := fmt.Sprintf(`# Platforms

Generated by `+"`make systemd-e2e SYSTEMD_E2E_REPORT=1`"+` on %s (the whole run %s); do not edit
by hand.

Each unit in deploy/ is installed as the README's Install section says, under a real
systemd as PID 1: a privileged container booted from a Debian root file system
(mmdebstrap from Debian's packages), a container of its own cgroup namespace with
cgroup v2 (see deploy/systemdhost_test.go for why), journald with the journald log
driver. The hosts, one after another (scripts/systemd-host.sh prepares them):

- bookworm: Debian 12 with Podman %s built from its module (Debian's 4.3 has no
  Quadlet) over Debian's Podman installation, runc and CNI;
- trixie: Debian 13 with its own podman, netavark, crun and systemd;
- forky: Debian testing with its own Podman;
- podman6: Debian testing with Podman 6 built from its module (go.podman.io/podman/v6),
  forky's netavark and crun.

Only what this VM needs is changed in each host's containers.conf: open file limits
below the VM's hard limit, pids_limit=0 (the VM binds every cgroup controller to v1,
so the host's cgroup2 has none), logs and events in journald.

The OTLP endpoint is set the way the units' comments say (a Quadlet or systemd drop-in
with OTEL_EXPORTER_OTLP_ENDPOINT) and points at a real OpenTelemetry Collector on the
booted host's loopback. Loggers are busybox containers started after READY=1, %d lines
each; the kill -9 row's logger writes %d lines, one every 10 ms, across the kill.

The Podman columns are filled while each variant's daemon runs, against that host's own
Podman (the user's, for the rootless variant): a running, a created and an exited
container (exit code %d after %d lines), one healthy and one unhealthy (HealthRetries=1,
checks run by hand), a running pod, a created one and a stopped one. Each value is
compared with `+"`podman inspect`"+` / `+"`podman pod inspect`"+` read around the scrape, mapped by the
value table docs/metrics.md gives; the died and health_status records podexporter sends
with `+"`podman events`"+` (one died event with its exit code; one record per change of
health status, where Podman sends one per check); the exited container's output with
`+"`podman logs`"+`.

The booted host never touches the VM's cgroup tmpfs (systemd inside would remount it
read-only for the whole VM): it has a cgroup namespace of its own with cgroup2 mounted
from inside. After each host the test asserts that the container and its cgroup are
gone and that /sys/fs/cgroup is writable, and scripts/systemd-e2e.sh checks again after
a test that timed out.

The same code runs on Podman 4.3 (Debian 12's, the VM's own service) and Podman %s
without systemd in `+"`make test`"+`: deploy/container_test.go runs the rootful unit's
generated podman command there.

## Hosts

Each check summed over the host's deployment variants (pass n/m: m variants it applies
to); the tables below give each cell.

%s
The service layer's fixtures, for the system manager (/etc/containers/systemd/) and the
lingering user's (~/.config/containers/systemd/), each watched by the unit that is meant
to: %s. Each value podexporter reports is compared with the booted host's own
`+"`systemctl show`"+` (as the user, for the user manager) and `+"`podman inspect`"+`, read while
the unit is stable; the hardening expectations are computed by the test from
`+"`podman inspect`"+` JSON, independently of podexporter. Faults: `+"`systemctl daemon-reexec`"+` (the
manager's socket is created anew) and a user manager that refuses the daemon's user
(the native unit, user podexporter).

%s
%s`, time.Now().UTC().Format("2006-01-02"), took.Round(time.Second), podman5Version(), linesEach, killLines,
		exitCode, exitLines, podman5Version(), formatHostSummary(runs), fixtureSummary, signedSummaryText, hosts.String())
	return os.WriteFile("../docs/platforms.md", []byte(doc), 0o644)
}

// podman5Version is the version of Podman 5 go.mod pins, which the bookworm host runs.
func podman5Version() string {
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		return "5"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "github.com/containers/podman/v5" {
			return strings.TrimPrefix(f[1], "v")
		}
	}
	return "5"
}

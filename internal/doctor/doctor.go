// Package doctor checks what podexporter needs from the host and says, for each
// failure, how to fix it. It backs the `podexporter doctor` subcommand.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/podexporter/podexporter/bpf"
	"github.com/podexporter/podexporter/internal/config"
	"github.com/podexporter/podexporter/journald"
)

// Status of one check.
type Status string

// A FAIL makes doctor exit 1; a WARN is something optional that will not work.
const (
	OK   Status = "OK"
	Warn Status = "WARN"
	Fail Status = "FAIL"
)

// Check is one line of the report.
type Check struct {
	Status Status
	What   string
	Detail string
	Fix    string
}

// Run performs every check. It never changes the host except for a probe file in the
// state directory, which it removes.
func Run(ctx context.Context, cfg *config.Config) []Check {
	var checks []Check
	checks = append(checks, journalChecks(cfg)...)
	for _, s := range cfg.Podman.Sockets {
		checks = append(checks, podmanCheck(ctx, s))
	}
	checks = append(checks, ebpfCheck(), stateCheck(cfg))
	return checks
}

// Print writes one line per check and reports whether any failed.
func Print(w io.Writer, checks []Check) (failed bool) {
	for _, c := range checks {
		line := fmt.Sprintf("%-4s  %s: %s", c.Status, c.What, c.Detail)
		if c.Status != OK && c.Fix != "" {
			line += " — fix: " + c.Fix
		}
		fmt.Fprintln(w, line)
		failed = failed || c.Status == Fail
	}
	return failed
}

func journalChecks(cfg *config.Config) []Check {
	dirs := journald.DefaultDirectories
	if cfg.Journal.Directory != "" {
		dirs = []string{cfg.Journal.Directory}
	}
	var checks []Check
	readable := 0
	for _, d := range dirs {
		u, err := journald.DiskUsage(d)
		switch {
		case errors.Is(err, journald.ErrNoDirectory):
			checks = append(checks, Check{Status: OK, What: "journal " + d, Detail: "absent"})
		case err != nil:
			checks = append(checks, Check{Status: Fail, What: "journal " + d, Detail: err.Error(),
				Fix: "run as root or in the systemd-journal group (Quadlet: GroupAdd=systemd-journal), and mount it read-only into the container"})
		default:
			readable++
			checks = append(checks, Check{Status: OK, What: "journal " + d,
				Detail: fmt.Sprintf("readable, %d files, %.1f MiB", u.Files, float64(u.Bytes)/(1<<20))})
		}
	}
	if readable == 0 {
		checks = append(checks, Check{Status: Fail, What: "journal", Detail: "no readable journal directory among " + strings.Join(dirs, ", "),
			Fix: "start systemd-journald, or mount /var/log/journal and /run/log/journal into the container"})
	}
	return checks
}

// podmanCheck pings the service and reads its libpod API version from the reply headers,
// the cheapest call that proves the socket is a working Podman service.
func podmanCheck(ctx context.Context, uri string) Check {
	c := Check{What: "podman " + uri}
	u, err := url.Parse(uri)
	if err != nil {
		c.Status, c.Detail = Fail, err.Error()
		return c
	}
	var dial func(ctx context.Context) (net.Conn, error)
	var d net.Dialer
	switch u.Scheme {
	case "unix":
		dial = func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "unix", u.Path) }
	case "tcp":
		dial = func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", u.Host) }
	default:
		c.Status, c.Detail = Warn, "not checked: doctor checks unix:// and tcp:// sockets only"
		return c
	}
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) }},
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://podman/_ping", nil)
	resp, err := client.Do(req)
	if err != nil {
		c.Status, c.Detail = Fail, "unreachable: "+err.Error()
		c.Fix = "start the service (systemctl enable --now podman.socket, or systemctl --user for rootless) or correct --podman.socket"
		if u.Scheme == "unix" {
			if _, serr := os.Stat(u.Path); errors.Is(serr, os.ErrPermission) {
				c.Fix = "the socket's directory is not accessible to this user: run as the socket's owner or root"
			}
		}
		return c
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.Status, c.Detail = Fail, "answered "+resp.Status+" to /_ping"
		c.Fix = "check that this is a Podman API socket"
		return c
	}
	api := resp.Header.Get("Libpod-Api-Version")
	if api == "" {
		c.Status, c.Detail = Warn, "reachable, but no Libpod-Api-Version header: a Docker daemon?"
		c.Fix = "point --podman.socket at a Podman service"
		return c
	}
	c.Status, c.Detail = OK, "reachable, libpod API "+api
	return c
}

func ebpfCheck() Check {
	s := bpf.Probe()
	if s.OK {
		return Check{Status: OK, What: "ebpf", Detail: "permitted: " + s.String()}
	}
	return Check{Status: Warn, What: "ebpf", Detail: "not available (optional network counters): " + s.String(),
		Fix: "see the listed capability or setting; everything else works without eBPF"}
}

func stateCheck(cfg *config.Config) Check {
	c := Check{What: "state directory " + cfg.State.Directory}
	if err := cfg.PrepareStateDir(); err != nil {
		var ce *config.Error
		c.Status, c.Detail = Fail, err.Error()
		if errors.As(err, &ce) {
			c.Detail, c.Fix = ce.Problem, ce.Fix
		}
		return c
	}
	c.Status, c.Detail = OK, "writable"
	return c
}

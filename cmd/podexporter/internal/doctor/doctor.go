// Package doctor checks what podexporter needs from the host and says, for each
// failure, how to fix it. It backs the `podexporter doctor` subcommand.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/podexporter/podexporter/bpf"
	"github.com/podexporter/podexporter/cmd/podexporter/internal/config"
	"github.com/podexporter/podexporter/journald/journalstat"
	"github.com/podexporter/podexporter/systemd"
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
	if cfg.Collectors["systemd"] {
		checks = append(checks, systemdChecks(ctx, cfg)...)
	}
	return checks
}

// systemdChecks reports, for each systemd manager the daemon would watch, whether it
// can be read and which Quadlet files produced no unit. None is a failure: the
// service layer is optional, and a host without systemd has none of it.
func systemdChecks(ctx context.Context, cfg *config.Config) []Check {
	opts := systemd.OptionsFrom(cfg.Systemd)
	opts.Logger = slog.New(slog.DiscardHandler)
	var checks []Check
	for _, st := range systemd.Probe(ctx, opts) {
		c := Check{What: "systemd " + st.Manager}
		switch {
		case st.Refused && st.UID >= 0:
			c.Status, c.Detail = Warn, fmt.Sprintf("user %d's manager refused %s, so its Quadlet units are not watched: %v", st.UID, whoAmI(), st.Err)
			c.Fix = fmt.Sprintf("run podexporter as root (the rootful unit in deploy/quadlet), or as user %d (its rootless unit), or leave user managers out with --no-systemd.user-managers", st.UID)
		case st.Err != nil:
			c.Status, c.Detail, c.Fix = Warn, fmt.Sprintf("cannot be read (Quadlet units not watched): %v", st.Err), st.Fix
		case len(st.Orphans) > 0:
			var paths []string
			for _, f := range st.Orphans {
				paths = append(paths, f.Path)
			}
			c.Status = Warn
			c.Detail = fmt.Sprintf("%d Quadlet units; %d Quadlet files produced no unit: %s", st.Units, len(st.Orphans), strings.Join(paths, ", "))
			c.Fix = "see why with /usr/libexec/podman/quadlet -dryrun (add -user for a user's files), fix the file, then systemctl daemon-reload"
			if r := st.Orphans[0].Reason; r != "" {
				c.Fix = "the generator said: " + r + "; fix the file, then systemctl daemon-reload"
			}
		default:
			c.Status, c.Detail = OK, fmt.Sprintf("readable, %d Quadlet units, every Quadlet file has its unit", st.Units)
		}
		checks = append(checks, c)
	}
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

// journalChecks reports, for each journal directory the daemon would read, whether
// this process can read its files: libsystemd skips a journal file it may not open
// without a word, so a directory that lists fine can still give the daemon nothing.
func journalChecks(cfg *config.Config) []Check {
	dirs := journalstat.DefaultDirectories
	if cfg.Journal.Directory != "" {
		dirs = []string{cfg.Journal.Directory}
	}
	var checks []Check
	readable := 0
	for _, d := range dirs {
		c := Check{What: "journal " + d}
		u, err := journalstat.DiskUsage(d)
		switch {
		case errors.Is(err, journalstat.ErrNoDirectory):
			c.Status, c.Detail = OK, "absent"
		case err != nil:
			c.Status, c.Detail = Fail, err.Error()
			c.Fix = accessFix(nil)
		default:
			c = journalAccessCheck(d, u, probeFiles(d))
			if c.Status != Fail {
				readable++
			}
		}
		checks = append(checks, c)
	}
	if readable == 0 {
		checks = append(checks, Check{Status: Fail, What: "journal", Detail: "no readable journal directory among " + strings.Join(dirs, ", "),
			Fix: "start systemd-journald, or mount /var/log/journal and /run/log/journal into the container"})
	}
	return checks
}

// journalAccessCheck turns what this process could open of a listable directory into
// one line: all files readable, some not (their entries are skipped), or none.
func journalAccessCheck(dir string, u journalstat.Usage, a access) Check {
	c := Check{What: "journal " + dir}
	size := fmt.Sprintf("%.1f MiB", float64(u.Bytes)/(1<<20))
	switch {
	case a.files == 0:
		c.Status, c.Detail = OK, "readable, no journal files yet"
	case a.readable == a.files:
		c.Status, c.Detail = OK, fmt.Sprintf("readable, %d files, %s", a.files, size)
	case a.readable == 0:
		c.Status = Fail
		c.Detail = fmt.Sprintf("listable, but none of its %d journal files can be opened by %s: %v", a.files, whoAmI(), a.firstErr)
		c.Fix = a.fix()
	default:
		c.Status = Warn
		c.Detail = fmt.Sprintf("%d of %d journal files cannot be opened by %s, and their entries are skipped: %v", a.files-a.readable, a.files, whoAmI(), a.firstErr)
		c.Fix = a.fix()
	}
	return c
}

// fix is the remedy for the first file that could not be read: the right group when
// it was refused, else a look at the file itself.
func (a *access) fix() string {
	if errors.Is(a.firstErr, fs.ErrPermission) {
		return accessFix(a.denied)
	}
	return "check that file with journalctl --verify --file=PATH, and remove it if it is not a journal"
}

// access is what this process could open of one directory's journal files.
type access struct {
	files, readable int
	// firstErr is the first file that could not be read, and why.
	firstErr error
	// denied is that file's status when it could be taken, for naming its group.
	denied *syscall.Stat_t
}

// journalSignature begins every journal file's header (systemd's journal-def.h).
const journalSignature = "LPKSHHRH"

// probeFiles opens each journal file below dir, laid out as journalstat.DiskUsage walks
// it, and reads its signature, as libsystemd does first: only an open as this user
// answers for group membership, ACLs (journald grants each user their own
// user-UID.journal) and security modules alike, where mode bits would not.
func probeFiles(dir string) access {
	var a access
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			a.note(nil, err)
			return nil
		}
		if d.IsDir() {
			if path != dir && strings.Count(strings.TrimPrefix(path, dir), "/") > 1 {
				return fs.SkipDir
			}
			return nil
		}
		if name := d.Name(); !strings.HasSuffix(name, ".journal") && !strings.HasSuffix(name, ".journal~") {
			return nil
		}
		err = readSignature(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // rotated away or vacuumed meanwhile
		}
		a.files++
		if err == nil {
			a.readable++
			return nil
		}
		var st *syscall.Stat_t
		if fi, serr := os.Stat(path); serr == nil {
			st, _ = fi.Sys().(*syscall.Stat_t)
		}
		a.note(st, err)
		return nil
	})
	return a
}

func (a *access) note(st *syscall.Stat_t, err error) {
	if a.firstErr == nil {
		a.firstErr, a.denied = err, st
	}
}

func readSignature(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var sig [len(journalSignature)]byte
	if _, err := io.ReadFull(f, sig[:]); err != nil {
		return fmt.Errorf("read header of %s: %w", path, err)
	}
	if string(sig[:]) != journalSignature {
		return fmt.Errorf("%s is not a journal file: no %s signature", path, journalSignature)
	}
	return nil
}

// whoAmI names this process's user and groups as the kernel sees them, so that the
// report says who was refused.
func whoAmI() string {
	uid := os.Getuid()
	name := fmt.Sprintf("uid %d", uid)
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		name = fmt.Sprintf("user %s (uid %d)", u.Username, uid)
	}
	gids, _ := os.Getgroups()
	groups := []string{groupName(os.Getgid())}
	for _, g := range gids {
		if g != os.Getgid() {
			groups = append(groups, groupName(g))
		}
	}
	return name + " in groups " + strings.Join(groups, ",")
}

func groupName(gid int) string {
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		return g.Name
	}
	return strconv.Itoa(gid)
}

// accessFix says how to give this process the journal files' group. It differs in a
// container: an image has no systemd-journal group of its own, and a rootless
// container keeps the host user's groups only when asked to.
func accessFix(st *syscall.Stat_t) string {
	group, gid := "systemd-journal", ""
	if st != nil && st.Gid != 0 {
		group, gid = groupName(int(st.Gid)), strconv.Itoa(int(st.Gid))
	}
	if gid == "" {
		if g, err := user.LookupGroup(group); err == nil {
			gid = g.Gid
		}
	}
	if inContainer() {
		byNumber := "GroupAdd=" + gid
		if gid == "" {
			byNumber = "GroupAdd= with the group's number"
		}
		return fmt.Sprintf("in a rootless Quadlet unit, put the host user in group %s and keep it with GroupAdd=keep-groups (deploy/quadlet/rootless/podexporter.container; crun only); "+
			"a rootful unit runs as uid 0, the files' owner (deploy/quadlet/podexporter.container), or with User= needs %s (the image has no %s group by name); "+
			"mount the journal read-only (Volume=/var/log/journal:/var/log/journal:ro)", group, byNumber, group)
	}
	who := "this user"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	return fmt.Sprintf("add %s to group %s (usermod -aG %s %s, or SupplementaryGroups=%s in its systemd unit as deploy/systemd/podexporter.service does) and start it again; under Quadlet see deploy/quadlet/",
		who, group, group, who, group)
}

// inContainer reports whether this process runs in a Podman container, where the fix
// is in the Quadlet unit. Podman sets container=podman and writes /run/.containerenv
// in every container; other runtimes' advice would differ, so only Podman counts.
func inContainer() bool {
	if os.Getenv("container") == "podman" {
		return true
	}
	_, err := os.Stat("/run/.containerenv")
	return err == nil
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

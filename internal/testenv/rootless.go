package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RootlessUser is the unprivileged user scripts/testhost.sh prepares: a member of
// systemd-journal with its own rootless Podman API service.
const RootlessUser = "podexporter-rootless"

// Rootless is that user and its Podman service.
type Rootless struct {
	UID, GID uint32
	// JournalGID is the systemd-journal group's id, the user's supplementary group.
	JournalGID uint32
	// Socket is the URI of the user's Podman API service.
	Socket string
	// Client talks HTTP to that service.
	Client  *http.Client
	runtime string
	home    string
}

// RequireRootlessPodman needs the unprivileged user and its Podman API service.
func RequireRootlessPodman(t testing.TB) *Rootless {
	t.Helper()
	SkipShort(t, "a rootless Podman API service")
	RequireRoot(t) // to act as the user
	u, err := user.Lookup(RootlessUser)
	if err != nil {
		Missing(t, "no user "+RootlessUser+": "+err.Error(), fixHost)
		return nil
	}
	g, err := user.LookupGroup("systemd-journal")
	if err != nil {
		Missing(t, "no group systemd-journal: "+err.Error(), fixHost)
		return nil
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	jgid, _ := strconv.ParseUint(g.Gid, 10, 32)
	r := &Rootless{UID: uint32(uid), GID: uint32(gid), JournalGID: uint32(jgid), home: u.HomeDir,
		runtime: fmt.Sprintf("/run/user/%d", uid)}
	sock := r.runtime + "/podman/podman.sock"
	r.Socket = "unix://" + sock
	r.Client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := r.Client.Get("http://podman/_ping")
	if err != nil {
		Missing(t, RootlessUser+"'s Podman API service does not answer on "+sock+": "+err.Error(), fixHost)
		return nil
	}
	resp.Body.Close()
	return r
}

// Env is the environment a process of the user needs (rootless Podman finds its
// storage and runtime directory through it).
func (r *Rootless) Env() []string {
	return []string{"XDG_RUNTIME_DIR=" + r.runtime, "HOME=" + r.home, "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}
}

// Podman runs the podman CLI as the user.
func (r *Rootless) Podman(args ...string) (string, error) {
	cmd := exec.Command("runuser", append([]string{"-u", RootlessUser, "--", "podman"}, args...)...)
	cmd.Dir = "/"
	cmd.Env = r.Env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("podman %s as %s: %w: %s", strings.Join(args, " "), RootlessUser, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// Run starts a detached rootless container from the test image (host network:
// these VMs give slirp4netns no /dev/net/tun) and removes it when the test ends.
// It returns the full container id.
func (r *Rootless) Run(t testing.TB, name string, args []string, cmd ...string) string {
	t.Helper()
	full := append([]string{"run", "-d", "--network=host", "--name", name}, args...)
	full = append(full, Image)
	full = append(full, cmd...)
	id, err := r.Podman(full...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = r.Podman("rm", "-f", "-t", "0", name) })
	return id
}

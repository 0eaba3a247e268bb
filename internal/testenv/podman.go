package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// PodmanSocket is the rootful API socket the test host serves: Debian's Podman 4.3.
const PodmanSocket = "/run/podman/podman.sock"

// Podman5Socket is the second rootful API service scripts/testhost.sh starts: Podman 5,
// built from the module go.mod pins, on storage of its own.
const Podman5Socket = "/run/podman5/podman.sock"

// Podman5CLI is the wrapper scripts/testhost.sh installs that runs the Podman 5 CLI
// with that service's configuration and storage.
const Podman5CLI = "/usr/local/bin/podman5"

// podmanServices are every rootful service the test host runs, oldest first.
var podmanServices = []struct {
	socket, cli string
	// fallback names the subtest when the service does not answer, so that its
	// absence shows in the output.
	fallback string
}{
	{PodmanSocket, "podman", "podman-4"},
	{Podman5Socket, Podman5CLI, "podman-5"},
}

// Podman is a reachable Podman API service plus a way to start test containers.
type Podman struct {
	// Socket is the URI podexporter's --podman.socket takes.
	Socket string
	// Client talks HTTP to the service over its unix socket, for assertions that
	// compare podexporter's view with the API's own.
	Client *http.Client
	// Version is the service's Podman version, as its /version endpoint says.
	Version string
	// CLI is the podman command that works on the service's storage ("podman" or
	// the podman5 wrapper): the independent reference the tests compare with.
	CLI string
}

// Name is "podman-VERSION", the name of a test's subtest for this service.
func (p *Podman) Name() string { return "podman-" + p.Version }

// RequirePodman needs the Debian Podman 4.3 API service answering on the rootful
// socket and the test image present.
func RequirePodman(t testing.TB) *Podman {
	t.Helper()
	SkipShort(t, "a Podman API service")
	RequireRoot(t)
	p, err := connectPodman(PodmanSocket, "podman")
	if err != nil {
		Missing(t, err.Error(), fixHost)
		return nil
	}
	return p
}

// RequirePodmanServices needs every Podman service of the test host (4.3 and 5) and
// returns them, oldest first, for tests that use them together.
func RequirePodmanServices(t testing.TB) []*Podman {
	t.Helper()
	SkipShort(t, "the Podman API services")
	RequireRoot(t)
	var ps []*Podman
	for _, s := range podmanServices {
		p, err := connectPodman(s.socket, s.cli)
		if err != nil {
			Missing(t, err.Error(), fixHost)
			return nil
		}
		ps = append(ps, p)
	}
	return ps
}

// EachPodman runs f as a subtest per Podman service of the test host, named by the
// service's version (TestX/podman-4.3.1, TestX/podman-5.7.0). A service that is
// missing skips its subtest only, or fails it under CI.
func EachPodman(t *testing.T, f func(t *testing.T, p *Podman)) {
	t.Helper()
	SkipShort(t, "the Podman API services")
	RequireRoot(t)
	for _, s := range podmanServices {
		p, err := connectPodman(s.socket, s.cli)
		name := s.fallback
		if err == nil {
			name = p.Name()
		}
		t.Run(name, func(t *testing.T) {
			if err != nil {
				Missing(t, err.Error(), fixHost)
				return
			}
			f(t, p)
		})
	}
}

// connectPodman checks that the service on socket answers and that its CLI has the
// test image, and asks the service its version.
func connectPodman(socket, cli string) (*Podman, error) {
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}},
	}
	resp, err := client.Get("http://podman/version")
	if err != nil {
		return nil, fmt.Errorf("the Podman API service does not answer on %s: %w", socket, err)
	}
	defer resp.Body.Close()
	var v struct{ Version string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.Version == "" {
		return nil, fmt.Errorf("the Podman API service on %s gave no version (%v)", socket, err)
	}
	if out, err := exec.Command(cli, "image", "exists", Image).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("the test image %s is missing for %s (%v: %s)", Image, cli, err, bytes.TrimSpace(out))
	}
	return &Podman{Socket: "unix://" + socket, Client: client, Version: v.Version, CLI: cli}, nil
}

// Command is the service's podman CLI with args, not started.
func (p *Podman) Command(args ...string) *exec.Cmd { return exec.Command(p.CLI, args...) }

// Output runs the service's podman CLI and returns its trimmed output; a failure ends
// the test with podman's own message.
func (p *Podman) Output(t testing.TB, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	c := p.Command(args...)
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", p.CLI, strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// Run starts a detached container from the test image with podman run, and removes
// it when the test ends. args go before the image (podman run options); cmd after it.
// It returns the full container id.
func (p *Podman) Run(t testing.TB, name string, args []string, cmd ...string) string {
	t.Helper()
	full := append([]string{"run", "-d", "--name", name}, args...)
	full = append(full, Image)
	full = append(full, cmd...)
	id := p.Output(t, full...)
	t.Cleanup(func() { p.Remove(name) })
	return id
}

// Remove removes a container at once, ignoring one that is already gone.
func (p *Podman) Remove(name string) {
	_ = p.Command("rm", "-f", "-t", "0", name).Run()
}

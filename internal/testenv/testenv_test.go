package testenv

import (
	"slices"
	"testing"
	"time"
)

// TestContainerLogReachesJournal is the plumbing every later integration test relies
// on: a container started through the helper, on each Podman service, logs through
// Podman's journald driver and the line is found by journalctl.
func TestContainerLogReachesJournal(t *testing.T) {
	RequireJournald(t)
	EachPodman(t, func(t *testing.T, p *Podman) {
		name := UniqueName("plumbing")
		token := "hello-" + name
		id := p.Run(t, name, nil, "echo", token)
		if len(id) != 64 {
			t.Fatalf("podman run returned id %q, want 64 hex characters", id)
		}
		Eventually(t, 10*time.Second, "the container's line in the journal", func() bool {
			return slices.Contains(Journal(t, "CONTAINER_NAME="+name), token)
		})
		// The driver must tag the entry with the short id, which the journald reader keys on.
		if got := Journal(t, "CONTAINER_ID="+id[:12]); !slices.Contains(got, token) {
			t.Fatalf("no entry with CONTAINER_ID=%s holds %q; got %q", id[:12], token, got)
		}
	})
}

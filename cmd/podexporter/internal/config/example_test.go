package config

import "testing"

// The shipped example must stay valid as settings change.
func TestShippedExampleParses(t *testing.T) {
	c, err := Parse([]string{"--config.file=../../../../deploy/podexporter.yml"}, testCollectors, "test", testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Podman.Sockets[0] != RootfulSocket {
		t.Fatalf("sockets = %q", c.Podman.Sockets)
	}
}

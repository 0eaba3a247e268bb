package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzConfigFile: any file content either parses or gives a *config.Error; never a
// panic, never another kind of error.
func FuzzConfigFile(f *testing.F) {
	f.Add("web:\n  listen_addresses: [':9883']\n")
	f.Add("podman:\n  stats_interval: 10s\n  sockets: [unix:///run/podman/podman.sock]\n")
	f.Add("otlp:\n  endpoint: http://127.0.0.1:4318\n  headers: [a=b]\n")
	f.Add("collectors:\n  journal: false\n")
	f.Add("journal:\n  start: 1h\n  max_line_bytes: -5\n")
	f.Add("- a\n- b\n")
	f.Add("web: {listen_addresses: 7}\n")
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(t.TempDir(), "podexporter.yml")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Parse([]string{"--config.file=" + p, "--state.directory=/tmp/podexporter-fuzz"}, testCollectors, "test", testEnv(nil))
		var ce *Error
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error %v (%T) is not a *config.Error", err, err)
		}
	})
}

package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzWebConfig: any --web.config.file content is accepted or refused with a
// *config.Error naming --web.config.file; never a panic.
func FuzzWebConfig(f *testing.F) {
	f.Add("tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n")
	f.Add("basic_auth_users:\n  prometheus: $2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234\n")
	f.Add("http_server_config:\n  http2: false\n")
	f.Add("tls_server_config:\n  client_auth_type: Bogus\n")
	f.Add("{}")
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(t.TempDir(), "web.yml")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Parse([]string{"--web.config.file=" + p, "--state.directory=/tmp/podexporter-fuzz"}, testCollectors, "test", testEnv(nil))
		var ce *Error
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error %v (%T) is not a *config.Error", err, err)
		}
	})
}

package podmanconf

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/setting"
)

func valid() Settings {
	return Settings{Sockets: []string{"unix:///run/podman/podman.sock"}, StatsInterval: 10 * time.Second,
		SlowInterval: time.Minute, SizeInterval: 5 * time.Minute, MaxContainers: 1000,
		LabelValueMaxLength: 128, ProcRoot: "/proc"}
}

// TestValidate: the defaults pass, and a problem names its flag as a *setting.Error,
// which the binary turns into exit code 2.
func TestValidate(t *testing.T) {
	s := valid()
	if err := s.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		flag   string
		change func(*Settings)
	}{
		{"--podman.socket", func(s *Settings) { s.Sockets = []string{"unix://relative.sock"} }},
		{"--podman.stats-interval", func(s *Settings) { s.StatsInterval = 500 * time.Millisecond }},
		{"--podman.slow-interval", func(s *Settings) { s.SlowInterval = time.Second }},
		{"--podman.size-interval", func(s *Settings) { s.SizeInterval = time.Second }},
		{"--podman.max-containers", func(s *Settings) { s.MaxContainers = -1 }},
		{"--podman.label-value-max-length", func(s *Settings) { s.LabelValueMaxLength = 0 }},
		{"--podman.container-label", func(s *Settings) { s.ContainerLabels = []string{"app", ""} }},
		{"--podman.pod-label", func(s *Settings) { s.PodLabels = []string{""} }},
		{"--podman.pod-label", func(s *Settings) { s.PodLabels = []string{"a.b", "a-b"} }},
		{"--podman.image-label", func(s *Settings) { s.ImageLabels = []string{"*", "x/y", "x.y"} }},
		{"--podman.proc-root", func(s *Settings) { s.ProcRoot = t.TempDir() }},
		{"--podman.include-container", func(s *Settings) { s.IncludeContainer = "web-(" }},
		{"--podman.exclude-container", func(s *Settings) { s.ExcludeContainer = "[" }},
		{"--podman.include-image", func(s *Settings) { s.IncludeImage = "nginx:(1" }},
		{"--podman.exclude-image", func(s *Settings) { s.ExcludeImage = "*pause" }},
		{"--podman.include-label", func(s *Settings) { s.IncludeLabels = []string{"app", "=shop"} }},
		{"--podman.exclude-label", func(s *Settings) { s.ExcludeLabels = []string{"my label"} }},
	} {
		s := valid()
		tc.change(&s)
		var se *setting.Error
		if err := s.Validate(); !errors.As(err, &se) || se.Setting != tc.flag {
			t.Errorf("%s: Validate() = %v", tc.flag, err)
		}
	}
	s = valid()
	s.ContainerLabels, s.PodLabels, s.ImageLabels = []string{"*"}, []string{"app", "*"}, []string{"tag", "digest"}
	if err := s.Validate(); err != nil {
		t.Errorf("label allowlists with * and fixed names: %v", err)
	}
	s = valid()
	s.SizeInterval = 0
	if err := s.Validate(); err != nil {
		t.Errorf("size interval 0 (off): %v", err)
	}
}

func TestCheckSocketURI(t *testing.T) {
	for _, ok := range []string{"unix:///run/podman/podman.sock", "tcp://127.0.0.1:8080", "ssh://core@host/run/podman/podman.sock"} {
		if err := checkSocketURI(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for uri, problem := range map[string]string{
		"unix://run/podman.sock": "three slashes",
		"tcp://host":             "tcp needs host:port",
		"ssh:///path":            "ssh needs a host",
		"http://host:80":         `unknown scheme "http"`,
	} {
		err := checkSocketURI(uri)
		if err == nil || !strings.Contains(err.Error(), problem) || !strings.HasPrefix(err.Error(), "invalid --podman.socket") {
			t.Errorf("%s: %v, want %q", uri, err, problem)
		}
	}
}

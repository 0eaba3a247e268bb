package podman

import (
	"encoding/json"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/containers/podman/v5/libpod/define"
)

// What inspect says of a container's health check schedule and confinement reaches
// the snapshot as plain facts. The inputs are the parts of `podman inspect` that
// 4.3.1 and 5.7.0 gave for containers run with the options each case names; a
// service that leaves parts out costs those facts, not a panic.
func TestInspectSecurityAndSchedule(t *testing.T) {
	ended, _ := time.Parse(time.RFC3339Nano, "2026-01-02T03:04:07.210510091Z")
	began, _ := time.Parse(time.RFC3339Nano, "2026-01-02T03:04:07.045614791Z")
	tests := []struct {
		name       string
		inspect    string // merged into a running container's inspect answer
		wantSec    Security
		wantHealth Health
	}{
		{
			name: "--user 1000 --read-only --security-opt no-new-privileges --restart on-failure --health-cmd true --health-interval 2s --health-timeout 1s, by digest, checked once",
			inspect: `{"ImageName": "localhost/busybox@sha256:a5d1", "AppArmorProfile": "",
				"State": {"Status": "running", "Health": {"Status": "healthy", "FailingStreak": 0,
					"Log": [{"Start": "2026-01-02T03:04:07.045614791Z", "End": "2026-01-02T03:04:07.210510091Z", "ExitCode": 0, "Output": ""}]}},
				"Config": {"User": "1000", "Image": "localhost/busybox@sha256:a5d1",
					"Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 2000000000, "Timeout": 1000000000, "Retries": 3}},
				"HostConfig": {"ReadonlyRootfs": true, "Privileged": false, "CapAdd": [], "SecurityOpt": ["no-new-privileges"],
					"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 0}}}`,
			wantSec: Security{User: "1000", ReadOnlyRootfs: true, CapAdd: []string{}, SecurityOpt: []string{"no-new-privileges"},
				ImageRef: "localhost/busybox@sha256:a5d1", RestartPolicy: "on-failure", HealthDefined: true},
			wantHealth: Health{Status: "healthy", LastCheck: ended, LastDuration: ended.Sub(began), Interval: 2 * time.Second, Timeout: time.Second},
		},
		{
			name: "--health-cmd true: Podman wrote its 30 s defaults; no check has run (5.7.0)",
			inspect: `{"ImageName": "localhost/busybox:test",
				"State": {"Status": "running", "Health": {"Status": "starting", "FailingStreak": 0, "Log": null}},
				"Config": {"User": "", "Image": "localhost/busybox:test",
					"Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 30000000000, "Timeout": 30000000000, "Retries": 3}},
				"HostConfig": {"CapAdd": [], "SecurityOpt": [], "RestartPolicy": {"Name": "no"}}}`,
			wantSec:    Security{ImageRef: "localhost/busybox:test", CapAdd: []string{}, SecurityOpt: []string{}, RestartPolicy: "no", HealthDefined: true},
			wantHealth: Health{Status: "starting", Interval: 30 * time.Second, Timeout: 30 * time.Second},
		},
		{
			name:       "--health-interval disable: stored without an interval, run on demand only",
			inspect:    `{"Config": {"Healthcheck": {"Test": ["CMD-SHELL", "true"], "Timeout": 30000000000, "Retries": 3}}}`,
			wantSec:    Security{HealthDefined: true},
			wantHealth: Health{Timeout: 30 * time.Second},
		},
		{
			name:       "no timeout in the configuration: Podman's default",
			inspect:    `{"Config": {"Healthcheck": {"Test": ["CMD", "true"], "Interval": 60000000000}}}`,
			wantSec:    Security{HealthDefined: true},
			wantHealth: Health{Interval: time.Minute, Timeout: 30 * time.Second},
		},
		{
			name:       "a negative interval is no schedule",
			inspect:    `{"Config": {"Healthcheck": {"Test": ["CMD", "true"], "Interval": -1000000000, "Timeout": -1}}}`,
			wantSec:    Security{HealthDefined: true},
			wantHealth: Health{Timeout: 30 * time.Second},
		},
		{
			name:    "the image's check switched off (NONE)",
			inspect: `{"Config": {"Healthcheck": {"Test": ["NONE"], "Interval": 30000000000, "Timeout": 30000000000}}}`,
		},
		{
			name:    "an empty test is no check",
			inspect: `{"Config": {"Healthcheck": {"Interval": 30000000000}}}`,
		},
		{
			name: "--privileged --user 0:0 --cap-add NET_ADMIN --security-opt label=disable,seccomp=unconfined, under AppArmor unconfined, restart always (5.7.0)",
			inspect: `{"AppArmorProfile": "unconfined", "Config": {"User": "0:0"},
				"HostConfig": {"Privileged": true, "CapAdd": ["CAP_NET_ADMIN"], "CapDrop": ["CAP_SYS_RESOURCE"],
					"SecurityOpt": ["unmask=all", "label=disable", "seccomp=unconfined"], "RestartPolicy": {"Name": "always"}}}`,
			wantSec: Security{User: "0:0", Privileged: true, CapAdd: []string{"CAP_NET_ADMIN"}, SecurityOpt: []string{"unmask=all", "label=disable", "seccomp=unconfined"},
				AppArmorProfile: "unconfined", RestartPolicy: "always"},
		},
		{
			name:    "no Config: the image from ImageName",
			inspect: `{"ImageName": "localhost/busybox@sha256:a5d1", "HostConfig": {"ReadonlyRootfs": true}}`,
			wantSec: Security{ReadOnlyRootfs: true, ImageRef: "localhost/busybox@sha256:a5d1"},
		},
		{name: "no Config, no RestartPolicy", inspect: `{"HostConfig": {"RestartPolicy": null}}`},
		{name: "nothing at all", inspect: `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(Options{URI: "unix:///run/podman/podman.sock", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			const cid = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
			data := &define.InspectContainerData{ID: cid, State: &define.InspectContainerState{Status: "running"}}
			if err := json.Unmarshal([]byte(tc.inspect), data); err != nil {
				t.Fatal(err)
			}
			if err := e.applyInspect(cid, data, nil); err != nil {
				t.Fatal(err)
			}
			c := e.containers[cid]
			if c == nil {
				t.Fatal("container not kept")
			}
			if !reflect.DeepEqual(c.Security, tc.wantSec) {
				t.Errorf("Security\n got %+v\nwant %+v", c.Security, tc.wantSec)
			}
			if c.Health != tc.wantHealth {
				t.Errorf("Health\n got %+v\nwant %+v", c.Health, tc.wantHealth)
			}
		})
	}
}

// The service's own word that it is rootless reaches the snapshot with the versions.
func TestSystemOfRootless(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		info := &define.Info{Version: define.Version{APIVersion: "4.3.1"}, Host: &define.HostInfo{Security: define.SecurityInfo{Rootless: rootless}}}
		if got := systemOf(info); got.Rootless != rootless || got.APIVersion != "4.3.1" {
			t.Errorf("info rootless %v: System %+v", rootless, got)
		}
	}
	if got := systemOf(&define.Info{}); got.Rootless {
		t.Errorf("no host part: System %+v, want not rootless", got)
	}
}

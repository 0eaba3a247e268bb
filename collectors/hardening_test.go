package collectors

import (
	"io"
	"log/slog"
	"maps"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podexporter/podexporter/podman"
	"github.com/podexporter/podexporter/systemd"
)

// allChecks are the check label's values, as the catalog's help lists them.
var allChecks = []string{"rootless", "non_root_user", "read_only_rootfs", "not_privileged", "no_added_capabilities",
	"seccomp", "mac_confinement", "image_digest", "health_check", "restart_policy"}

// hardened passes every check on a rootless service of an SELinux host.
func hardened() podman.Security {
	return podman.Security{
		User: "1000", ReadOnlyRootfs: true, SecurityOpt: []string{"no-new-privileges"}, ProcessLabel: "system_u:system_r:container_t:s0:c12,c345",
		ImageRef: "localhost/busybox@sha256:a5d10cc5180ed699dae4ab4cbff41adf52efa4d164d571298577920874d8457a", RestartPolicy: "on-failure", HealthDefined: true,
	}
}

// Each check passes and fails for the reasons docs/security.md gives, one change at a
// time from a container that passes them all.
func TestHardeningChecks(t *testing.T) {
	rootless := &podman.Snapshot{Service: "rootless-1000", System: podman.System{APIVersion: "4.3.1", Rootless: true}}
	tests := []struct {
		name        string
		snap        *podman.Snapshot // nil: rootless
		change      func(s *podman.Security, k *podman.Container)
		unitRestart string
		fail        []string // the checks that fail; every other passes
	}{
		{name: "hardened"},
		{name: "rootful service", snap: &podman.Snapshot{Service: "rootful", System: podman.System{APIVersion: "5.7.0"}}, fail: []string{"rootless"}},
		{name: "rootless by name, info not read yet", snap: &podman.Snapshot{Service: "rootless-1001"}},
		{name: "rootful by name, info not read yet", snap: &podman.Snapshot{Service: "rootful"}, fail: []string{"rootless"}},
		// A remote URI says nothing; the service's info does.
		{name: "remote service whose info says rootless", snap: &podman.Snapshot{Service: "tcp://10.0.0.1:8888", System: podman.System{APIVersion: "5.7.0", Rootless: true}}},
		{name: "rootless socket whose info says root", snap: &podman.Snapshot{Service: "rootless-0", System: podman.System{APIVersion: "5.7.0"}}, fail: []string{"rootless"}},
		{name: "image's default user", change: func(s *podman.Security, _ *podman.Container) { s.User = "" }, fail: []string{"non_root_user"}},
		{name: "user root", change: func(s *podman.Security, _ *podman.Container) { s.User = "root" }, fail: []string{"non_root_user"}},
		{name: "user 0", change: func(s *podman.Security, _ *podman.Container) { s.User = "0" }, fail: []string{"non_root_user"}},
		{name: "user 0:0", change: func(s *podman.Security, _ *podman.Container) { s.User = "0:0" }, fail: []string{"non_root_user"}},
		{name: "user root:wheel", change: func(s *podman.Security, _ *podman.Container) { s.User = "root:wheel" }, fail: []string{"non_root_user"}},
		{name: "user 0:1000", change: func(s *podman.Security, _ *podman.Container) { s.User = "0:1000" }, fail: []string{"non_root_user"}},
		{name: "user :1000 (root's uid)", change: func(s *podman.Security, _ *podman.Container) { s.User = ":1000" }, fail: []string{"non_root_user"}},
		{name: "user 1000:0 (root group, not root)", change: func(s *podman.Security, _ *podman.Container) { s.User = "1000:0" }},
		{name: "user nobody", change: func(s *podman.Security, _ *podman.Container) { s.User = "nobody" }},
		{name: "user rooter", change: func(s *podman.Security, _ *podman.Container) { s.User = "rooter" }},
		{name: "writable root", change: func(s *podman.Security, _ *podman.Container) { s.ReadOnlyRootfs = false }, fail: []string{"read_only_rootfs"}},
		// --privileged gives every capability and switches seccomp and SELinux/AppArmor
		// separation off, whatever inspect lists.
		{name: "privileged", change: func(s *podman.Security, _ *podman.Container) { s.Privileged = true },
			fail: []string{"not_privileged", "no_added_capabilities", "seccomp", "mac_confinement"}},
		{name: "privileged, Podman 5's unmask=all", change: func(s *podman.Security, _ *podman.Container) {
			s.Privileged, s.SecurityOpt = true, []string{"unmask=all"}
		}, fail: []string{"not_privileged", "no_added_capabilities", "seccomp", "mac_confinement"}},
		{name: "a capability added", change: func(s *podman.Security, _ *podman.Container) { s.CapAdd = []string{"CAP_NET_ADMIN"} }, fail: []string{"no_added_capabilities"}},
		{name: "no capability added (empty list)", change: func(s *podman.Security, _ *podman.Container) { s.CapAdd = []string{} }},
		{name: "seccomp=unconfined", change: func(s *podman.Security, _ *podman.Container) { s.SecurityOpt = []string{"seccomp=unconfined"} }, fail: []string{"seccomp"}},
		{name: "seccomp:unconfined (Docker's older syntax)", change: func(s *podman.Security, _ *podman.Container) { s.SecurityOpt = []string{"seccomp:unconfined"} }, fail: []string{"seccomp"}},
		{name: "a seccomp profile of its own", change: func(s *podman.Security, _ *podman.Container) { s.SecurityOpt = []string{"seccomp=/etc/app.json"} }},
		{name: "label=disable", change: func(s *podman.Security, _ *podman.Container) {
			s.SecurityOpt = []string{"no-new-privileges", "label=disable"}
		}, fail: []string{"mac_confinement"}},
		{name: "label:disable", change: func(s *podman.Security, _ *podman.Container) { s.SecurityOpt = []string{"label:disable"} }, fail: []string{"mac_confinement"}},
		{name: "a label type of its own", change: func(s *podman.Security, _ *podman.Container) { s.SecurityOpt = []string{"label=type:spc_t"} }},
		// An AppArmor host: no SELinux label.
		{name: "apparmor=unconfined", change: func(s *podman.Security, _ *podman.Container) {
			s.ProcessLabel, s.AppArmorProfile, s.SecurityOpt = "", "containers-default-0.50.1", []string{"apparmor=unconfined"}
		}, fail: []string{"mac_confinement"}},
		{name: "runs under AppArmor's unconfined profile", change: func(s *podman.Security, _ *podman.Container) { s.ProcessLabel, s.AppArmorProfile = "", "unconfined" }, fail: []string{"mac_confinement"}},
		{name: "runs under containers-default", change: func(s *podman.Security, _ *podman.Container) {
			s.ProcessLabel, s.AppArmorProfile = "", "containers-default-0.50.1"
		}},
		// Nothing to be confined by: not disabled, but not confined either.
		{name: "a host without SELinux or AppArmor", change: func(s *podman.Security, _ *podman.Container) { s.ProcessLabel, s.AppArmorProfile = "", "" }, fail: []string{"mac_confinement"}},
		{name: "image by tag", change: func(s *podman.Security, k *podman.Container) {
			s.ImageRef, k.Image = "localhost/busybox:test", "localhost/busybox:test"
		}, fail: []string{"image_digest"}},
		{name: "image by tag and digest", change: func(s *podman.Security, k *podman.Container) {
			s.ImageRef = "docker.io/library/busybox:1.36@sha256:a5d10cc5180ed699dae4ab4cbff41adf52efa4d164d571298577920874d8457a"
		}},
		{name: "image by id", change: func(s *podman.Security, k *podman.Container) { s.ImageRef, k.Image = "78bfd56d12a1", "78bfd56d12a1" }, fail: []string{"image_digest"}},
		{name: "digest only in ImageName", change: func(s *podman.Security, k *podman.Container) {
			s.ImageRef, k.Image = "", "localhost/busybox@sha256:a5d10cc5180ed699dae4ab4cbff41adf52efa4d164d571298577920874d8457a"
		}},
		{name: "no health check", change: func(s *podman.Security, _ *podman.Container) { s.HealthDefined = false }, fail: []string{"health_check"}},
		{name: "no restart policy (4.3 says \"\")", change: func(s *podman.Security, _ *podman.Container) { s.RestartPolicy = "" }, fail: []string{"restart_policy"}},
		{name: "restart policy no (5 says \"no\")", change: func(s *podman.Security, _ *podman.Container) { s.RestartPolicy = "no" }, fail: []string{"restart_policy"}},
		{name: "restart always", change: func(s *podman.Security, _ *podman.Container) { s.RestartPolicy = "always" }},
		{name: "the systemd unit restarts it", change: func(s *podman.Security, _ *podman.Container) { s.RestartPolicy = "" }, unitRestart: "always"},
		{name: "the systemd unit says Restart=no", change: func(s *podman.Security, _ *podman.Container) { s.RestartPolicy = "no" }, unitRestart: "no", fail: []string{"restart_policy"}},
		{name: "Podman's policy counts whatever the unit says", unitRestart: "no"},
		{name: "nothing set at all", snap: &podman.Snapshot{}, change: func(s *podman.Security, k *podman.Container) { *s, k.Image = podman.Security{}, "" },
			fail: []string{"rootless", "non_root_user", "read_only_rootfs", "mac_confinement", "image_digest", "health_check", "restart_policy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := tc.snap
			if snap == nil {
				snap = rootless
			}
			k := &podman.Container{ID: "abc", Image: "localhost/busybox@sha256:a5d10cc5180ed699dae4ab4cbff41adf52efa4d164d571298577920874d8457a", Security: hardened()}
			if tc.change != nil {
				tc.change(&k.Security, k)
			}
			got := hardeningChecks(snap, k, tc.unitRestart)
			var names []string
			for _, c := range got {
				names = append(names, c.name)
				if want := !slices.Contains(tc.fail, c.name); c.pass != want {
					t.Errorf("%s: pass = %v, want %v", c.name, c.pass, want)
				}
			}
			if !slices.Equal(names, allChecks) {
				t.Errorf("checks %v, want %v", names, allChecks)
			}
		})
	}
}

type staticUnits []*systemd.Snapshot

func (u staticUnits) Snapshots() []*systemd.Snapshot { return u }

// The collector: ten series per container with the container labels (and the name,
// when asked for), restart_policy read from the systemd unit of the service's own
// manager, and a container whose name cannot be exposed costs its own series only.
func TestHardeningCollector(t *testing.T) {
	snap := syntheticSnapshot(3)
	snap.System = podman.System{APIVersion: "5.7.0"}
	snap.Containers[0].Security = hardened()
	snap.Containers[0].SystemdUnit = "web.service"
	snap.Containers[0].Security.RestartPolicy = ""
	snap.Containers[1].SystemdUnit = "web.service" // same unit name, but see below
	snap.Containers[2].Name = "bad\xffname"
	src := &swappable{}
	src.p.Store(snap)
	units := staticUnits{
		{Manager: "system", Units: []systemd.Unit{{Name: "web.service", Restart: "on-failure"}}},
		{Manager: "user-1000", Units: []systemd.Unit{{Name: "other.service", Restart: "always"}}},
	}
	set, err := New(Deps{Enabled: map[string]bool{"hardening": true}, NameLabel: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Podman: src, Units: units})
	if err != nil {
		t.Fatal(err)
	}
	reg := newGatherer(t, set)
	got := map[string]map[string]float64{} // id -> check -> value
	names := map[string]string{}
	for _, m := range familySamples(t, reg, "podman_container_hardening_passed") {
		if got[m.labels["id"]] == nil {
			got[m.labels["id"]] = map[string]float64{}
		}
		if m.labels["podman_service"] != "rootful" || m.labels["pod_id"] != "" || m.labels["pod_name"] != "" {
			t.Errorf("labels %v", m.labels)
		}
		got[m.labels["id"]][m.labels["check"]] = m.value
		names[m.labels["id"]] = m.labels["name"]
	}
	id := func(i int) string { return snap.Containers[i].ID[:12] }
	if len(got) != 2 || got[id(2)] != nil {
		t.Fatalf("series for %d containers (%v), want 2: the one named with invalid UTF-8 dropped", len(got), slices.Collect(maps.Keys(got)))
	}
	if names[id(0)] != snap.Containers[0].Name {
		t.Errorf("name label %q, want %q", names[id(0)], snap.Containers[0].Name)
	}
	want0 := map[string]float64{}
	for _, c := range allChecks {
		want0[c] = 1
	}
	want0["rootless"] = 0 // a rootful service
	if !maps.Equal(got[id(0)], want0) {
		t.Errorf("hardened container behind a Restart=on-failure unit: %v, want %v", got[id(0)], want0)
	}
	// Container 1 is a plain one on a host without SELinux or AppArmor: only
	// not_privileged, no_added_capabilities and seccomp pass; the unit restarts it.
	want1 := map[string]float64{"rootless": 0, "non_root_user": 0, "read_only_rootfs": 0, "not_privileged": 1, "no_added_capabilities": 1,
		"seccomp": 1, "mac_confinement": 0, "image_digest": 0, "health_check": 0, "restart_policy": 1}
	if !maps.Equal(got[id(1)], want1) {
		t.Errorf("plain container: %v, want %v", got[id(1)], want1)
	}

	// Without the systemd source, only Podman's policy counts.
	set, err = New(Deps{Enabled: map[string]bool{"hardening": true}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Podman: src})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range familySamples(t, newGatherer(t, set), "podman_container_hardening_passed") {
		if m.labels["check"] == "restart_policy" && m.value != 0 {
			t.Errorf("restart_policy of %s = %v without the systemd source, want 0", m.labels["id"], m.value)
		}
	}
}

// newGatherer serves set as /metrics does: per-scrape and cached series together.
func newGatherer(t *testing.T, set *Set) prometheus.Gatherer {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(set)
	return set.Gatherer(reg)
}

type sample struct {
	labels map[string]string
	value  float64
}

// familySamples gathers g and returns the samples of one family.
func familySamples(t *testing.T, g prometheus.Gatherer, family string) []sample {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []sample
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
		for _, m := range mf.GetMetric() {
			s := sample{labels: map[string]string{}, value: sampleValue(m)}
			for _, lp := range m.GetLabel() {
				s.labels[lp.GetName()] = lp.GetValue()
			}
			out = append(out, s)
		}
	}
	return out
}

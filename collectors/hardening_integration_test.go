package collectors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// hardenedArgs pass every container check (rootless is the service's): a non-root
// user, a read-only root, no new privileges, a health check, a restart policy; the
// image goes by digest.
var hardenedArgs = []string{"--user", "1000", "--read-only", "--security-opt", "no-new-privileges",
	"--health-cmd", "true", "--health-interval", "1h", "--restart", "on-failure"}

// hardeningCase is a container built to pass or fail given checks: args replace
// flags of hardenedArgs (a flag given with "" is left out), byTag runs the image by
// tag, create only creates it (busybox has no passwd entry for root, so --user root
// cannot start).
type hardeningCase struct {
	name     string
	args     []string
	drop     []string // flags of hardenedArgs left out
	byTag    bool
	create   bool
	plain    bool     // no hardening options at all
	wantFail []string // the checks it must fail, besides rootless on a rootful service
}

var hardeningCases = []hardeningCase{
	{name: "hardened"},
	{name: "privileged", args: []string{"--privileged"}, wantFail: []string{"not_privileged", "no_added_capabilities", "seccomp", "mac_confinement"}},
	{name: "capadd", args: []string{"--cap-add", "NET_ADMIN"}, wantFail: []string{"no_added_capabilities"}},
	{name: "seccomp", args: []string{"--security-opt", "seccomp=unconfined"}, wantFail: []string{"seccomp"}},
	{name: "label", args: []string{"--security-opt", "label=disable"}, wantFail: []string{"mac_confinement"}},
	{name: "apparmor", args: []string{"--security-opt", "apparmor=unconfined"}, wantFail: []string{"mac_confinement"}},
	{name: "userroot", args: []string{"--user", "root"}, drop: []string{"--user"}, create: true, wantFail: []string{"non_root_user"}},
	{name: "uid0", args: []string{"--user", "0:0"}, drop: []string{"--user"}, wantFail: []string{"non_root_user"}},
	{name: "imageuser", drop: []string{"--user"}, wantFail: []string{"non_root_user"}},
	{name: "writable", drop: []string{"--read-only"}, wantFail: []string{"read_only_rootfs"}},
	{name: "nohealth", drop: []string{"--health-cmd", "--health-interval"}, wantFail: []string{"health_check"}},
	{name: "bytag", byTag: true, wantFail: []string{"image_digest"}},
	{name: "norestart", drop: []string{"--restart"}, wantFail: []string{"restart_policy"}},
	{name: "plain", plain: true, byTag: true, wantFail: []string{"non_root_user", "read_only_rootfs", "image_digest", "health_check", "restart_policy"}},
}

// runArgs are the podman run (or create) options of the case, before the image.
func (c hardeningCase) runArgs() []string {
	if c.plain {
		return nil
	}
	var out []string
	for i := 0; i < len(hardenedArgs); i++ {
		flag := hardenedArgs[i]
		takesValue := i+1 < len(hardenedArgs) && !strings.HasPrefix(hardenedArgs[i+1], "--")
		if !slices.Contains(c.drop, flag) {
			out = append(out, flag)
			if takesValue {
				out = append(out, hardenedArgs[i+1])
			}
		}
		if takesValue {
			i++
		}
	}
	return append(out, c.args...)
}

// hardeningInspected is what `podman inspect` says that the checks read, decoded
// here from the CLI's JSON, not by the code under test.
type hardeningInspected struct {
	ID              string `json:"Id"`
	ImageName       string
	AppArmorProfile string
	ProcessLabel    string
	Config          struct {
		User        string
		Image       string
		Healthcheck *struct{ Test []string }
	}
	HostConfig struct {
		ReadonlyRootfs bool
		Privileged     bool
		CapAdd         []string
		SecurityOpt    []string
		RestartPolicy  *struct{ Name string }
	}
}

var (
	rootUserRE     = regexp.MustCompile(`^(|root|0)(:.*)?$`)
	seccompOffRE   = regexp.MustCompile(`^seccomp[=:]unconfined$`)
	labelOffRE     = regexp.MustCompile(`^label[=:]disable$`)
	apparmorOffRE  = regexp.MustCompile(`^apparmor[=:]unconfined$`)
	imageDigestRE  = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	noRestartNames = []string{"", "no"}
)

// expectedHardening is the guide's verdicts on one container, from inspect's JSON and
// whether the service says it is rootless; this host runs no systemd units, so only
// Podman's restart policy counts.
func expectedHardening(in hardeningInspected, rootless bool) map[string]float64 {
	v := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	hc := in.HostConfig
	matches := func(re *regexp.Regexp) bool { return slices.ContainsFunc(hc.SecurityOpt, re.MatchString) }
	restart := ""
	if hc.RestartPolicy != nil {
		restart = hc.RestartPolicy.Name
	}
	health := in.Config.Healthcheck
	return map[string]float64{
		"rootless":              v(rootless),
		"non_root_user":         v(!rootUserRE.MatchString(in.Config.User)),
		"read_only_rootfs":      v(hc.ReadonlyRootfs),
		"not_privileged":        v(!hc.Privileged),
		"no_added_capabilities": v(!hc.Privileged && len(hc.CapAdd) == 0),
		"seccomp":               v(!hc.Privileged && !matches(seccompOffRE)),
		"mac_confinement": v(!hc.Privileged && ((in.ProcessLabel != "" && !matches(labelOffRE)) ||
			(in.AppArmorProfile != "" && in.AppArmorProfile != "unconfined" && !matches(apparmorOffRE)))),
		"image_digest":   v(imageDigestRE.MatchString(in.Config.Image) || imageDigestRE.MatchString(in.ImageName)),
		"health_check":   v(health != nil && len(health.Test) > 0 && health.Test[0] != "NONE"),
		"restart_policy": v(!slices.Contains(noRestartNames, restart)),
	}
}

// hardeningService is a Podman service under test, through its CLI.
type hardeningService struct {
	name string
	cli  func(args ...string) (string, error)
	// runArgs go first on every podman run or create (the rootless user's host network).
	runArgs []string
	// createOnly creates the containers without starting them. The checks read the
	// configuration, whatever the state; the rootless user's copy of the test image
	// has a root directory only root may enter, so a container with --user 1000
	// cannot start there.
	createOnly bool
}

func (s hardeningService) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := s.cli(args...)
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	return out
}

// checkHardening creates the cases' containers on the service, and compares every
// hardening series the collectors give for them with the verdicts computed from
// `podman inspect`, after checking that those verdicts are what the case was built
// for (so a Podman that put something unexpected in inspect fails here, loudly).
func checkHardening(t *testing.T, h *podmanHarness, s hardeningService, cases []hardeningCase) {
	var info struct {
		Host struct {
			Security struct{ Rootless bool }
		}
	}
	if err := json.Unmarshal([]byte(s.must(t, "info", "--format", "json")), &info); err != nil {
		t.Fatalf("%s info: %v", s.name, err)
	}
	rootless := info.Host.Security.Rootless
	var img []struct{ RepoDigests []string }
	if err := json.Unmarshal([]byte(s.must(t, "image", "inspect", testenv.Image)), &img); err != nil || len(img) != 1 || len(img[0].RepoDigests) == 0 {
		t.Fatalf("%s image inspect %s: %v (%+v): the test needs the image's digest", s.name, testenv.Image, err, img)
	}
	byDigest := img[0].RepoDigests[0]

	ids := map[string]string{}
	for _, c := range cases {
		name := testenv.UniqueName("hardening-" + c.name)
		verb := "run"
		if c.create || s.createOnly {
			verb = "create"
		}
		args := append([]string{verb, "--name", name}, s.runArgs...)
		if verb == "run" {
			args = append(args, "-d")
		}
		args = append(args, c.runArgs()...)
		image := byDigest
		if c.byTag {
			image = testenv.Image
		}
		args = append(args, image, "sleep", "600")
		t.Cleanup(func() { _, _ = s.cli("rm", "-f", "-t", "0", name) })
		ids[c.name] = strings.TrimSpace(s.must(t, args...))
	}

	for _, c := range cases {
		var v []hardeningInspected
		if err := json.Unmarshal([]byte(s.must(t, "inspect", "--type", "container", ids[c.name])), &v); err != nil || len(v) != 1 {
			t.Fatalf("%s inspect %s: %v", s.name, c.name, err)
		}
		want := expectedHardening(v[0], rootless)
		built := map[string]float64{}
		for check := range want {
			built[check] = 1
		}
		for _, check := range c.wantFail {
			built[check] = 0
		}
		built["rootless"] = want["rootless"]
		if v[0].ProcessLabel == "" && v[0].AppArmorProfile == "" {
			built["mac_confinement"] = 0 // this host has neither SELinux nor AppArmor: nothing confines
		}
		if !maps.Equal(want, built) {
			t.Errorf("%s: podman inspect gives %v, but the container was built for %v: %s %+v",
				c.name, want, built, s.name, v[0])
			continue
		}
		id := ids[c.name][:12]
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			got := map[string]float64{}
			for _, m := range h.samples("podman_container_hardening_passed", map[string]string{"id": id}) {
				for _, lp := range m.GetLabel() {
					if lp.GetName() == "check" {
						got[lp.GetValue()] = sampleValue(m)
					}
				}
			}
			if maps.Equal(got, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: podman_container_hardening_passed by check\n got %v\nwant %v (from podman inspect)", c.name, got, want)
				break
			}
		}
	}
	if !t.Failed() {
		t.Logf("%s (rootless %v): %d containers, each check's series as podman inspect says", s.name, rootless, len(cases))
	}
}

// TestPodmanHardening builds one container per way to pass or fail each check on both
// rootful services and compares podman_container_hardening_passed with podman inspect.
func TestPodmanHardening(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		h := startPodman(t, nil, p.Socket)
		checkHardening(t, h, hardeningService{name: p.CLI, cli: func(args ...string) (string, error) {
			var stderr bytes.Buffer
			cmd := p.Command(args...)
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				return "", fmt.Errorf("%s %s: %w: %s", p.CLI, strings.Join(args, " "), err, stderr.String())
			}
			return strings.TrimSpace(string(out)), nil
		}}, hardeningCases)
	})
}

// TestPodmanHardeningRootless is the same on the rootless user's service, where the
// rootless check passes: a hardened container passes all ten.
func TestPodmanHardeningRootless(t *testing.T) {
	r := testenv.RequireRootlessPodman(t)
	h := startPodman(t, nil, r.Socket)
	checkHardening(t, h, hardeningService{name: testenv.RootlessUser + "'s podman", cli: r.Podman, runArgs: []string{"--network=host"}, createOnly: true}, hardeningCases)
}

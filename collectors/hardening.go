package collectors

import (
	"context"
	"hash/fnv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/podman"
	"github.com/podexporter/podexporter/systemd"
)

func init() {
	register("hardening", "Each container against the Podman hardening guide: rootless service, non-root user, read-only root filesystem, not privileged, no added capabilities, seccomp, SELinux/AppArmor confinement, image by digest, health check, restart policy (see docs/security.md).", true, newHardeningCollector)
}

// Hardening check names, the values of podman_container_hardening_passed's check
// label, in the order docs/security.md explains them.
const (
	checkRootless         = "rootless"
	checkNonRootUser      = "non_root_user"
	checkReadOnlyRootfs   = "read_only_rootfs"
	checkNotPrivileged    = "not_privileged"
	checkNoAddedCaps      = "no_added_capabilities"
	checkSeccomp          = "seccomp"
	checkMACConfinement   = "mac_confinement"
	checkImageDigest      = "image_digest"
	checkHealthCheck      = "health_check"
	checkRestartPolicy    = "restart_policy"
	hardeningChecksNumber = 10
)

// hardeningCollector judges each container against the hardening guide. What it
// reads changes only with a Podman or systemd snapshot, so all of it is in the cached
// snapshot part and Update has nothing to do.
type hardeningCollector struct {
	units  UnitSnapshots // nil without the systemd source: restart_policy then reads Podman's policy only
	labels containerLabels
	desc   *prometheus.Desc
}

func newHardeningCollector(d Deps) (Collector, error) {
	l := containerLabelsOf(d)
	return &hardeningCollector{units: d.Units, labels: l, desc: l.desc(catalog.ContainerHardening)}, nil
}

func (*hardeningCollector) Update(context.Context, chan<- prometheus.Metric) error { return nil }

func (c *hardeningCollector) collectSnapshot(s *podman.Snapshot, ch chan<- prometheus.Metric) {
	for i := range s.Containers {
		k := &s.Containers[i]
		if k.Excluded {
			continue
		}
		for _, chk := range hardeningChecks(s, k, unitRestart(c.units, s.Service, k.SystemdUnit)) {
			send(ch, c.desc, prometheus.GaugeValue, boolValue(chk.pass), c.labels.values(s, k, chk.name)...)
		}
	}
}

// check is one hardening check's verdict on one container.
type check struct {
	name string
	pass bool
}

// hardeningChecks judges container k of snapshot s; unitRestart is the Restart= of
// the systemd unit that runs it ("" when none is known). It only reads, so any
// snapshot, however odd, gives ten verdicts and no panic.
//
// A privileged container fails no_added_capabilities, seccomp and mac_confinement
// besides not_privileged, whatever inspect lists for them: --privileged gives every
// capability and turns seccomp and SELinux/AppArmor separation off, and a dashboard
// that showed those protections as present would mislead.
func hardeningChecks(s *podman.Snapshot, k *podman.Container, unitRestart string) []check {
	sec := &k.Security
	return append(make([]check, 0, hardeningChecksNumber),
		check{checkRootless, rootlessService(s)},
		check{checkNonRootUser, !rootUser(sec.User)},
		check{checkReadOnlyRootfs, sec.ReadOnlyRootfs},
		check{checkNotPrivileged, !sec.Privileged},
		check{checkNoAddedCaps, !sec.Privileged && len(sec.CapAdd) == 0},
		check{checkSeccomp, !sec.Privileged && !hasSecurityOpt(sec.SecurityOpt, "seccomp", "unconfined")},
		check{checkMACConfinement, !sec.Privileged && confined(sec)},
		check{checkImageDigest, strings.Contains(sec.ImageRef, "@sha256:") || strings.Contains(k.Image, "@sha256:")},
		check{checkHealthCheck, sec.HealthDefined},
		check{checkRestartPolicy, restarts(sec.RestartPolicy) || restarts(unitRestart)},
	)
}

// rootlessService says whether the Podman service runs without root: its info says
// so once read; before that, its name says which socket it is (rootless-UID).
func rootlessService(s *podman.Snapshot) bool {
	if s.System.APIVersion != "" {
		return s.System.Rootless
	}
	return strings.HasPrefix(s.Service, "rootless-")
}

// rootUser says whether a Config.User value, user or user:group, runs as uid 0: an
// empty user is the image's default, root, since Podman writes the image's USER there
// when the container does not name one.
func rootUser(u string) bool {
	user, _, _ := strings.Cut(strings.TrimSpace(u), ":")
	return user == "" || user == "root" || user == "0"
}

// confined says whether SELinux or AppArmor confines the container: it has an SELinux
// process label or an AppArmor profile other than unconfined, and neither was
// switched off. A host with neither confines nothing, and a dashboard that showed
// such containers as confined would mislead.
func confined(sec *podman.Security) bool {
	selinux := sec.ProcessLabel != "" && !hasSecurityOpt(sec.SecurityOpt, "label", "disable")
	apparmor := sec.AppArmorProfile != "" && sec.AppArmorProfile != "unconfined" && !hasSecurityOpt(sec.SecurityOpt, "apparmor", "unconfined")
	return selinux || apparmor
}

// hasSecurityOpt says whether opts hold key=value, or the older key:value Docker also
// accepted.
func hasSecurityOpt(opts []string, key, value string) bool {
	for _, o := range opts {
		if o == key+"="+value || o == key+":"+value {
			return true
		}
	}
	return false
}

// restarts says whether a restart policy (Podman's or systemd's Restart=) restarts
// the container at all.
func restarts(policy string) bool { return policy != "" && policy != "no" }

// fingerprint sums everything the series depend on (each shown container's labels and
// verdicts), so that the snapshot cache encodes them again only when one of those
// changes, not after every stats round: the verdicts come from inspect data, which
// changes when a container is created or replaced.
func (c *hardeningCollector) fingerprint(snaps []*podman.Snapshot, _ []*systemd.Snapshot) uint64 {
	h := fnv.New64a()
	var verdicts [hardeningChecksNumber]byte
	for _, s := range snaps {
		for i := range s.Containers {
			k := &s.Containers[i]
			if k.Excluded {
				continue
			}
			for _, v := range c.labels.values(s, k) {
				h.Write([]byte(v))
				h.Write([]byte{0})
			}
			for j, chk := range hardeningChecks(s, k, unitRestart(c.units, s.Service, k.SystemdUnit)) {
				verdicts[j] = byte(boolValue(chk.pass)) + 1
			}
			h.Write(verdicts[:])
		}
		h.Write([]byte{0xff}) // the snapshots' boundaries are part of the order
	}
	return h.Sum64()
}

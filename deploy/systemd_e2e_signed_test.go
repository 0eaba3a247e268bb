//go:build systemd_e2e

package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The signed release path (docs/deploy-signed.md) on the booted host: the release image
// built offline, pushed to a distribution registry on the host's loopback and signed by
// Podman itself with a sigstore key, then the shipped unit with deploy/signed/'s
// drop-ins pulling it under deploy/signed/policy.json. Every verdict is what systemd,
// Podman or the registry says; podexporter's own report is a column of its own.

// The registry the test starts on the booted host's loopback (plain HTTP, marked
// insecure for that host alone) and the release repository in it, as deploy/signed/
// names them.
const (
	registryAddr = "localhost:5000"
	releaseRepo  = registryAddr + "/podexporter"
	// registryEnv names the registry binary scripts/registry-build.sh built.
	registryEnv = "SYSTEMD_E2E_REGISTRY"
	// dropIn is where deploy/signed/'s image drop-in goes for the shipped unit.
	dropIn = "/etc/containers/systemd/podexporter.container.d/image.conf"
)

// signedSummaryText introduces the signed table in docs/platforms.md.
const signedSummaryText = "The signed release path (docs/deploy-signed.md), on the hosts SYSTEMD_E2E_SIGNED_HOSTS\n" +
	"names (bookworm by default; `all` for every host): the release image built offline by\n" +
	"scripts/image-offline.sh on the booted host, pushed by `podman push\n" +
	"--sign-by-sigstore-private-key` to a distribution registry (scripts/registry-build.sh)\n" +
	"on the host's loopback, plain HTTP and marked insecure for that host alone, with\n" +
	"sigstore keys made offline (scripts/sigstore-keygen.go; no Fulcio, no Rekor). Then\n" +
	"deploy/signed/'s files as that page installs them: policy.json (the release key for the\n" +
	"release repository; reject elsewhere), the registries.d file (signatures as attachments)\n" +
	"and the shipped rootful unit with pinned.conf (the digest) or tracking.conf (the tag,\n" +
	"AutoUpdate=registry). The refusals run the same unit, renamed, pointed at an image\n" +
	"pushed without a signature, one signed with another key, and the signed manifest put\n" +
	"under another tag through the registry's API; the signed unit's podexporter watches\n" +
	"them. Each verdict is systemctl show's, Podman's (inspect, image exists, the pull's own\n" +
	"error in the unit's journal, auto-update's output) or the registry's; what podexporter's\n" +
	"/metrics says has a column of its own.\n"

const fixRegistry = "run 'make systemd-e2e' (scripts/systemd-host.sh builds the registry with scripts/registry-build.sh)"

// signedChecks are the signed table's columns.
var signedChecks = []column{
	{"systemd", "the unit, as systemctl show"},
	{"podman", "the image, as Podman and the registry say"},
	{"reported", "what podexporter reports"},
}

// release is what the test pushed: the digests, by what each image is.
type release struct {
	signed, unsigned, otherKey, retagged string // manifest digests in the registry
	// next and nextUnsigned are built up front and pushed to the tag during the
	// auto-update rows.
	next, nextUnsigned string // local image names
}

// signedHere says why the signed rows do not run on a host, or "" when they do:
// SYSTEMD_E2E_SIGNED_HOSTS (comma separated; "all"; empty: bookworm alone, to keep CI
// short) names the hosts that run them.
func signedHere(kind string) string {
	only := os.Getenv("SYSTEMD_E2E_SIGNED_HOSTS")
	if only == "" {
		only = DefaultSystemdHost
	}
	if only == "all" || slices.Contains(strings.Split(only, ","), kind) {
		return ""
	}
	return "not run on this host: SYSTEMD_E2E_SIGNED_HOSTS=" + only
}

// signedRelease runs the signed table's rows on the prepared host (the release image,
// localhost/podexporter:latest, built there by image-offline.sh) and leaves the host's
// Podman configuration as it found it.
func (e *e2e) signedRelease() []row {
	t := e.t
	began := time.Now()
	defer func() { t.Logf("signed release path: %s", time.Since(began).Round(time.Second)) }()
	lap := time.Now()
	phase := func(what string) {
		t.Logf("signed release path: %s took %s", what, time.Since(lap).Round(100*time.Millisecond))
		lap = time.Now()
	}
	reg := os.Getenv(registryEnv)
	if reg == "" {
		e.fatalf("%s is not set: %s", registryEnv, fixRegistry)
	}
	e.h.CopyIn(reg, "registry")
	for _, f := range []string{"pinned.conf", "tracking.conf", "podexporter.yaml", "policy.json"} {
		e.h.CopyIn(filepath.Join("signed", f), "signed-"+f)
	}
	keys := e.sigstoreKeys()
	phase("the keys")
	e.sh(`set -e
cp /etc/containers/policy.json /e2e/policy.json.orig
mkdir -p /var/lib/e2e-registry
cat > /e2e/registry.yml <<'EOF'
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/e2e-registry
http:
  addr: 127.0.0.1:5000
EOF
systemd-run --unit=e2e-registry --property=StandardOutput=append:/e2e/registry.log \
  --property=StandardError=append:/e2e/registry.log /e2e/registry serve /e2e/registry.yml
# Plain HTTP on loopback: insecure for this registry on this host alone.
mkdir -p /etc/containers/registries.conf.d /etc/containers/registries.d /etc/containers/keys
printf '[[registry]]\nlocation = "` + registryAddr + `"\ninsecure = true\n' > /etc/containers/registries.conf.d/e2e-registry.conf
# As docs/deploy-signed.md installs them, on the host that signs and the hosts that pull.
install -m 0644 /e2e/signed-podexporter.yaml /etc/containers/registries.d/podexporter.yaml
install -m 0644 /e2e/release.pub /etc/containers/keys/podexporter.pub`)
	defer e.h.Sh(`systemctl stop e2e-registry; rm -rf /var/lib/e2e-registry /etc/containers/registries.conf.d/e2e-registry.conf \
  /etc/containers/registries.d/podexporter.yaml /etc/containers/keys; cp /e2e/policy.json.orig /etc/containers/policy.json`)
	if !e.eventually(20*time.Second, "the registry", func() bool {
		_, err := e.h.Exec("curl", "-sf", "-o", "/dev/null", "http://"+registryAddr+"/v2/")
		return err == nil
	}) {
		log, _ := e.h.Sh("tail -20 /e2e/registry.log")
		e.fatalf("the registry did not answer within 20 s: %s", log)
	}
	phase("the registry")
	rel := e.pushRelease(keys)
	phase("the pushes")

	// From here on the hosts' policy is the shipped one: the pulls are the hosts'.
	e.sh("install -m 0644 /e2e/signed-policy.json /etc/containers/policy.json")
	rows := []row{e.signedByDigest(rel)}
	phase("signed by digest")
	rows = append(rows, e.refused(rel)...)
	phase("the refusals")
	rows = append(rows, e.autoUpdate(rel)...)
	phase("auto-update")
	for _, r := range rows {
		for _, c := range signedChecks {
			t.Logf("signed / %s / %s: ok=%v %s", r.variant, c.key, r.cells[c.key].ok, r.cells[c.key].detail)
		}
	}
	e.sh("systemctl stop podexporter.service; rm -rf /etc/containers/systemd/podexporter.container /etc/containers/systemd/podexporter.container.d /etc/containers/systemd/podexporter-state.volume; systemctl daemon-reload; podman volume rm -f podexporter-state >/dev/null")
	return rows
}

// sigstoreKeys makes the release key and a second one (an attacker's, or a key that
// is not the release's) with one passphrase, offline, with scripts/sigstore-keygen.go:
// the library call behind skopeo generate-sigstore-key, which no booted host has
// (Debian 12's skopeo predates it, and the hosts carry no skopeo), so every host signs
// with keys made the same way. Returns where they are inside the host.
func (e *e2e) sigstoreKeys() map[string]string {
	dir := filepath.Join(e.h.Dir, "keys")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		e.fatalf("%v", err)
	}
	pass := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(pass, []byte("e2e release passphrase\n"), 0o600); err != nil {
		e.fatalf("%v", err)
	}
	out, err := exec.Command("go", "run", "../scripts/sigstore-keygen.go", pass, filepath.Join(dir, "release"), filepath.Join(dir, "other")).CombinedOutput()
	if err != nil {
		e.fatalf("generate the sigstore keys: %v\n%s", err, out)
	}
	e.h.CopyIn(filepath.Join(dir, "release.pub"), "release.pub")
	return map[string]string{"release": "/e2e/keys/release.private", "other": "/e2e/keys/other.private", "passphrase": "/e2e/keys/passphrase"}
}

// pushRelease is the release side: the offline image pushed and signed by Podman, and
// the images the refusals need, each built from the release image with a label of its
// own (so a digest of its own) and pushed before the shipped policy is in force.
func (e *e2e) pushRelease(keys map[string]string) release {
	var rel release
	// podman commit rather than build: Podman 6 mounts an overlay over a build's
	// context directory, which the booted host's overlay root cannot hold.
	build := func(what string) string {
		name := "localhost/podexporter-e2e:" + what
		e.sh(fmt.Sprintf(`set -e
podman create -q --name e2e-build-%[1]s localhost/podexporter:latest >/dev/null
podman commit -q --change 'LABEL io.podexporter.e2e=%[1]s' e2e-build-%[1]s %[2]s >/dev/null
podman rm e2e-build-%[1]s >/dev/null`, what, name))
		return name
	}
	rel.signed = e.push("localhost/podexporter:latest", "stable", keys["release"], keys["passphrase"])
	rel.unsigned = e.push(build("unsigned"), "unsigned", "", "")
	rel.otherKey = e.push(build("other-key"), "other-key", keys["other"], keys["passphrase"])
	rel.next, rel.nextUnsigned = build("next"), build("next-unsigned")
	// A re-tag as a registry client makes it (crane tag, skopeo copy): the signed
	// manifest, byte for byte, under another tag. Its signature (attached to the
	// digest) names the tag it was signed for.
	rel.retagged = e.sh(`set -e
accept='application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json'
curl -sf -H "Accept: $accept" -D /e2e/manifest.hdr -o /e2e/manifest.json http://` + registryAddr + `/v2/podexporter/manifests/stable
type=$(awk -F': ' 'tolower($1)=="content-type" {print $2}' /e2e/manifest.hdr | tr -d '\r')
curl -sf -X PUT -H "Content-Type: $type" --data-binary @/e2e/manifest.json -D - -o /dev/null http://` + registryAddr + `/v2/podexporter/manifests/retagged |
  awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}' | tr -d '\r'`)
	// The release side's copies go: what the hosts run must come from the registry,
	// through the policy.
	e.sh("podman rmi -f localhost/podexporter-e2e:unsigned localhost/podexporter-e2e:other-key >/dev/null")
	e.t.Logf("pushed: signed %s, unsigned %s, other key %s, re-tagged %s", rel.signed, rel.unsigned, rel.otherKey, rel.retagged)
	return rel
}

// push pushes a local image to the release repository's tag, signed with key when
// one is given, and returns the digest the registry stored it under.
func (e *e2e) push(image, tag, key, passphrase string) string {
	sign := ""
	if key != "" {
		sign = "--sign-by-sigstore-private-key " + key + " --sign-passphrase-file " + passphrase
	}
	out, err := e.h.Sh(fmt.Sprintf("podman push -q %s --digestfile /e2e/digest %s docker://%s:%s && cat /e2e/digest", sign, image, releaseRepo, tag))
	if err != nil || !strings.HasPrefix(out, "sha256:") {
		e.fatalf("push %s to %s:%s: %v\n%s", image, releaseRepo, tag, err, out)
	}
	return out
}

// signatures lists the sigstore attachments the registry holds for the repository (a
// tag named sha256-<hex>.sig per signed digest, as Podman writes them).
func (e *e2e) signatures() []string {
	out, _ := e.h.Exec("curl", "-sf", "http://"+registryAddr+"/v2/podexporter/tags/list")
	var tags struct{ Tags []string }
	_ = json.Unmarshal([]byte(out), &tags)
	var sigs []string
	for _, tg := range tags.Tags {
		if strings.HasSuffix(tg, ".sig") {
			sigs = append(sigs, tg)
		}
	}
	return sigs
}

// sigTag is the attachment tag of a digest.
func sigTag(digest string) string { return strings.Replace(digest, ":", "-", 1) + ".sig" }

// installShipped installs the shipped rootful unit and its volume with one of
// deploy/signed/'s drop-ins, the digest put in where the drop-in says to.
func (e *e2e) installShipped(dropInFile, digest string) {
	e.h.CopyIn(rootfulUnit, "podexporter.container")
	e.h.CopyIn(volumeUnit, "podexporter-state.volume")
	// The digest goes where pinned.conf says; a drop-in without that placeholder would
	// leave the test pulling something else than the file a user installs.
	check := "true"
	if digest != "" {
		check = "grep -q '^Image=.*@sha256:DIGEST$' /e2e/signed-" + dropInFile
	}
	e.sh(fmt.Sprintf(`set -e
%[5]s
mkdir -p %[2]s
install -m 0644 /e2e/podexporter.container /e2e/podexporter-state.volume /etc/containers/systemd/
sed 's/@sha256:DIGEST$/@%[3]s/' /e2e/signed-%[1]s > %[4]s
systemctl daemon-reload`, dropInFile, filepath.Dir(dropIn), digest, dropIn, check))
}

// unitState reads a system unit's properties.
func (e *e2e) unitState(unit string, props ...string) map[string]string {
	return e.unitProps(systemManager, unit, props...)
}

// runningImage is what a container runs: the reference it was created from, its
// image's id, and every registry digest storage knows that image by. The digests, not
// inspect's ImageDigest: an image pulled under several references (the release tag
// and its digest, or content identical to an image built here) keeps one primary
// digest, and the rest are only in RepoDigests.
type runningImage struct {
	name, id string
	digests  []string
}

func (e *e2e) running(container string) runningImage {
	var ri runningImage
	out, _ := e.h.Exec("podman", "inspect", "--format", "{{.ImageName}} {{.Image}}", container)
	ri.name, ri.id, _ = strings.Cut(out, " ")
	if ri.id == "" {
		return ri
	}
	out, _ = e.h.Exec("podman", "image", "inspect", "--format", "{{range .RepoDigests}}{{.}}\n{{end}}", ri.id)
	for _, d := range strings.Fields(out) {
		if repo, digest, ok := strings.Cut(d, "@"); ok && repo == releaseRepo {
			ri.digests = append(ri.digests, digest)
		}
	}
	return ri
}

// is says whether the container runs the release repository's digest.
func (ri runningImage) is(digest string) bool { return slices.Contains(ri.digests, digest) }

func (ri runningImage) String() string {
	var ds []string
	for _, d := range ri.digests {
		ds = append(ds, short(d))
	}
	return fmt.Sprintf("%s (image %.12s, known as %s@%v)", ri.name, ri.id, releaseRepo, ds)
}

// signedByDigest is the guide's form: deploy/signed/pinned.conf with the pushed digest.
// It is left running as the watcher of the refusals.
func (e *e2e) signedByDigest(rel release) row {
	r := row{variant: "signed, by digest (pinned.conf): pulled under the policy, starts", cells: map[string]cell{}}
	since := e.sh("date '+%Y-%m-%d %H:%M:%S'")
	e.sh("podman rmi -f " + releaseRepo + "@" + rel.signed + " >/dev/null 2>&1 || true")
	present := e.imageExists(releaseRepo + "@" + rel.signed)
	e.installShipped("pinned.conf", rel.signed)
	t0 := time.Now()
	out, err := e.h.Sh("systemctl start podexporter.service")
	took := time.Since(t0)
	p := e.unitState("podexporter.service", "ActiveState", "SubState", "Result")
	r.cells["systemd"] = cell{ok: err == nil && p["ActiveState"] == "active" && p["SubState"] == "running",
		detail: fmt.Sprintf("systemctl start returned after %.1f s: %s (%s)%s", took.Seconds(), p["ActiveState"], p["SubState"], prefixed("; ", strings.TrimSpace(out+" "+errString(err))))}
	ri := e.running("podexporter")
	sigs := e.signatures()
	// podman run reports its pull on stderr, which is the unit's journal.
	pulled := e.journalHas("podexporter.service", since, "Getting image source signatures|Writing manifest")
	r.cells["podman"] = cell{ok: !present && pulled && ri.name == releaseRepo+"@"+rel.signed && ri.is(rel.signed) && slices.Contains(sigs, sigTag(rel.signed)),
		detail: fmt.Sprintf("not in storage before the start: %v; pulled by the unit: %v; the container runs %s; the registry holds the signatures %v", !present, pulled, ri, sigs)}
	code := e.httpCode("/readyz")
	var hard string
	ok := e.eventually(30*time.Second, "podexporter's hardening series of itself", func() bool {
		sc, err := e.scrapeMetrics()
		if err != nil {
			return false
		}
		id := sc.containerID("podexporter")
		v, vok := sc.value("podman_container_hardening_passed", map[string]string{"id": id, "check": "image_digest"})
		hard = fmt.Sprintf("podman_container_hardening_passed{check=\"image_digest\"} of its own container %s", show(v, vok))
		return id != "" && vok && v == 1
	})
	r.cells["reported"] = cell{ok: code == "200" && ok, detail: fmt.Sprintf("/readyz %s; %s", code, hard)}

	// Digest pinning and podman auto-update, as pinned.conf says: nothing to follow.
	out, err = e.h.Sh("podman auto-update --dry-run --format '{{.Unit}} {{.Policy}} {{.Updated}}'")
	listed := regexp.MustCompile(`(?m)^podexporter\.service `).MatchString(out)
	r.cells["podman"] = withDetail(r.cells["podman"], !listed && err == nil,
		fmt.Sprintf("podman auto-update --dry-run lists it: %v (%s)", listed, orDefault(strings.TrimSpace(out+" "+errString(err)), "nothing listed")))
	// And had AutoUpdate=registry been left on a digest: what this Podman makes of it,
	// with a running container labelled as Quadlet labels its own (auto-update looks
	// at running containers only; its own network namespace keeps the daemon off
	// 9883). It must be looked at, and never be due for an update.
	out, err = e.h.Sh(fmt.Sprintf(`podman run -d -q --name e2e-digest-autoupdate --network none --label io.containers.autoupdate=registry \
  --label PODMAN_SYSTEMD_UNIT=e2e-digest-autoupdate.service %s@%s >/dev/null &&
  podman auto-update --dry-run --format '{{.Unit}} {{.Policy}} {{.Updated}}' 2>&1`, releaseRepo, rel.signed))
	_, _ = e.h.Sh("podman rm -f -t 0 e2e-digest-autoupdate >/dev/null 2>&1")
	due := regexp.MustCompile(`(?m)^e2e-digest-autoupdate\.service registry (pending|true)$`).MatchString(out)
	seen := regexp.MustCompile(`(?m)^e2e-digest-autoupdate\.service registry false$`).MatchString(out)
	r.cells["podman"] = withDetail(r.cells["podman"], err == nil && seen && !due,
		fmt.Sprintf("with AutoUpdate=registry on the digest, podman auto-update --dry-run says: %q", shorten(strings.TrimSpace(out+" "+errString(err)), 300)))
	return r
}

// withDetail adds a finding to a cell.
func withDetail(c cell, ok bool, detail string) cell {
	return cell{ok: c.ok && ok, detail: c.detail + "; " + detail}
}

func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19] + "..."
	}
	return digest
}

// imageExists says whether the host's rootful storage holds the image.
func (e *e2e) imageExists(ref string) bool {
	_, err := e.h.Exec("podman", "image", "exists", ref)
	return err == nil
}

// journalHas says whether a unit's journal since a time has a line matching re.
func (e *e2e) journalHas(unit, since, re string) bool {
	_, err := e.h.Sh(fmt.Sprintf("journalctl --no-pager -o cat --since '%s' -u %s | grep -qE '%s'", since, unit, re))
	return err == nil
}

// journalMatch returns the first line of a unit's journal since a time that matches re.
func (e *e2e) journalMatch(unit, since, re string) string {
	out, _ := e.h.Sh(fmt.Sprintf("journalctl --no-pager -o cat --since '%s' -u %s | grep -m1 -E '%s'", since, unit, re))
	return out
}

// refusal is an image the policy must refuse, and how Podman says why.
type refusal struct {
	name, what string
	image      string // the reference the unit pulls
	reason     string // a regexp on the unit's journal
	// same is set for the re-tag: the manifest under the new tag must be the signed
	// release's, byte for byte, or the row would prove nothing about identities.
	same string
}

// refused runs the shipped unit, renamed, with pinned.conf pointing at each image the
// policy must refuse, all at once, while the signed unit of signedByDigest runs and
// watches them; each must end failed, its image never stored.
func (e *e2e) refused(rel release) []row {
	cases := []refusal{
		{"unsigned", "unsigned, by digest: refused", releaseRepo + "@" + rel.unsigned,
			`(?i)signature (was required|.*does not exist)|no signature`, ""},
		{"otherkey", "signed with another key, by digest: refused", releaseRepo + "@" + rel.otherKey,
			`(?i)(signature|verif).*(fail|invalid|not match)|cryptographic`, ""},
		{"retagged", "the signed image re-tagged in the registry, by that tag: refused", releaseRepo + ":retagged",
			`(?i)identity|not accepted|does not match`, rel.signed},
	}
	since := e.sh("date '+%Y-%m-%d %H:%M:%S'")
	var script strings.Builder
	script.WriteString("set -e\n")
	for _, c := range cases {
		fmt.Fprintf(&script, `sed 's/^ContainerName=.*/ContainerName=podexporter-%[1]s/' /e2e/podexporter.container > /etc/containers/systemd/podexporter-%[1]s.container
mkdir -p /etc/containers/systemd/podexporter-%[1]s.container.d
sed 's|^Image=.*|Image=%[2]s|' /e2e/signed-pinned.conf > /etc/containers/systemd/podexporter-%[1]s.container.d/image.conf
podman rmi -f %[2]s >/dev/null 2>&1 || true
`, c.name, c.image)
	}
	script.WriteString("systemctl daemon-reload\n")
	for _, c := range cases {
		fmt.Fprintf(&script, "systemctl start --no-block podexporter-%s.service\n", c.name)
	}
	e.sh(script.String())
	defer func() {
		var rm []string
		for _, c := range cases {
			rm = append(rm, fmt.Sprintf("systemctl stop podexporter-%[1]s.service; systemctl reset-failed podexporter-%[1]s.service; rm -rf /etc/containers/systemd/podexporter-%[1]s.container*", c.name))
		}
		_, _ = e.h.Sh(strings.Join(rm, "\n") + "\nsystemctl daemon-reload")
	}()

	var rows []row
	for _, c := range cases {
		unit := "podexporter-" + c.name + ".service"
		r := row{variant: c.what, cells: map[string]cell{}}
		props := []string{"ActiveState", "Result", "NRestarts", "ExecMainStatus"}
		var p map[string]string
		// Restart=always retries the pull until the start limit (5 in 10 s) fails the unit.
		failed := e.eventually(45*time.Second, unit+" failed", func() bool {
			p = e.unitState(unit, props...)
			return p["ActiveState"] == "failed"
		})
		r.cells["systemd"] = cell{ok: failed, detail: fmt.Sprintf("%s: %s, Result=%s, NRestarts=%s, ExecMainStatus=%s",
			unit, p["ActiveState"], p["Result"], p["NRestarts"], p["ExecMainStatus"])}
		why := e.journalMatch(unit, since, c.reason)
		stored := e.imageExists(c.image)
		_, err := e.h.Exec("podman", "container", "exists", "podexporter-"+c.name)
		ok := why != "" && !stored && err != nil
		detail := fmt.Sprintf("%s; in storage: %v; container created: %v; the pull said: %q", c.image, stored, err == nil, shorten(orDefault(why, e.journalMatch(unit, since, "(?i)error")), 400))
		if c.same != "" {
			ok = ok && rel.retagged == c.same
			detail = fmt.Sprintf("the registry stored it as %s, the signed release's digest: %v; %s", short(rel.retagged), rel.retagged == c.same, detail)
		}
		r.cells["podman"] = cell{ok: ok, detail: detail}
		// The signed unit's podexporter watches the system manager: it must say failed
		// too, with systemd's Result.
		seen := e.eventually(30*time.Second, unit+" failed in /metrics", func() bool {
			sc, err := e.scrapeMetrics()
			if err != nil {
				detail = "scrape: " + err.Error()
				return false
			}
			lm := map[string]string{"unit": unit, "systemd_manager": "system"}
			st, stOK := sc.value("podman_quadlet_unit_state", merge(lm, "state", "failed"))
			res, resOK := sc.value("podman_quadlet_unit_result", merge(lm, "result", p["Result"]))
			detail = fmt.Sprintf("podman_quadlet_unit_state{state=\"failed\"} %s, podman_quadlet_unit_result{result=%q} %s", show(st, stOK), p["Result"], show(res, resOK))
			return stOK && st == 1 && resOK && res == 1
		})
		r.cells["reported"] = cell{ok: seen, detail: "the signed podexporter.service: " + detail}
		rows = append(rows, r)
	}
	return rows
}

// autoUpdate is tracking.conf: the release tag with AutoUpdate=registry, under the
// same policy. A new signed image at the tag is taken and the unit restarted on it; a
// new unsigned one is refused and the unit keeps running what it ran.
func (e *e2e) autoUpdate(rel release) []row {
	e.sh("systemctl stop podexporter.service")
	e.installShipped("tracking.conf", "")
	out, err := e.h.Sh("systemctl start podexporter.service")
	if ri := e.running("podexporter"); err != nil || !ri.is(rel.signed) || ri.name != releaseRepo+":stable" {
		why := fmt.Sprintf("with tracking.conf the unit should run %s:stable, the signed release %s: it runs %s; systemctl start: %s",
			releaseRepo, short(rel.signed), ri, orDefault(strings.TrimSpace(out+" "+errString(err)), "ok"))
		var rows []row
		for _, name := range []string{updateSigned, updateUnsigned} {
			r := row{variant: name, cells: map[string]cell{}}
			for _, c := range signedChecks {
				r.cells[c.key] = cell{detail: "not run: " + why}
			}
			rows = append(rows, r)
		}
		return rows
	}
	signed := e.updateRow(updateSigned,
		e.push(rel.next, "stable", "/e2e/keys/release.private", "/e2e/keys/passphrase"), true)
	unsigned := e.updateRow(updateUnsigned,
		e.push(rel.nextUnsigned, "stable", "", ""), false)
	return []row{signed, unsigned}
}

// The auto-update rows' names.
const (
	updateSigned   = "tracking.conf: a new signed image at the tag, podman auto-update: restarted on it"
	updateUnsigned = "tracking.conf: a new unsigned image at the tag, podman auto-update: refused, the old one runs on"
)

// updateRow runs podman auto-update after the tag moved to digest, and checks that
// the unit was restarted on it (take) or left alone (not take).
func (e *e2e) updateRow(name, digest string, take bool) row {
	r := row{variant: name, cells: map[string]cell{}}
	props := []string{"ActiveState", "SubState", "InvocationID", "NRestarts"}
	was := e.running("podexporter")
	p0 := e.unitState("podexporter.service", props...)
	out, err := e.h.Sh("podman auto-update --format '{{.Unit}} {{.Policy}} {{.Updated}}' 2>&1")
	p1 := e.unitState("podexporter.service", props...)
	now := e.running("podexporter")
	restarted := p0["InvocationID"] != p1["InvocationID"]
	active := p1["ActiveState"] == "active" && p1["SubState"] == "running"
	r.cells["systemd"] = cell{ok: active && restarted == take,
		detail: fmt.Sprintf("%s (%s); a new invocation: %v (InvocationID %.8s -> %.8s)", p1["ActiveState"], p1["SubState"], restarted, p0["InvocationID"], p1["InvocationID"])}
	updated := regexp.MustCompile(`(?m)^podexporter\.service registry true$`).MatchString(out)
	refused := err != nil && regexp.MustCompile(`(?i)signature`).MatchString(out)
	var ok bool
	if take {
		ok = err == nil && updated && now.is(digest) && !was.is(digest)
	} else {
		ok = refused && !updated && now.id == was.id && !e.imageExists(releaseRepo+"@"+digest)
	}
	r.cells["podman"] = cell{ok: ok, detail: fmt.Sprintf("the tag moved to %s; podman auto-update (exit 0: %v): %q; the container ran %s, runs %s",
		short(digest), err == nil, shorten(strings.TrimSpace(out), 400), was, now)}
	code := e.httpCode("/readyz")
	var hard string
	seen := e.eventually(30*time.Second, "the hardening series of the new container", func() bool {
		sc, err := e.scrapeMetrics()
		if err != nil {
			return false
		}
		id := sc.containerID("podexporter")
		v, vok := sc.value("podman_container_hardening_passed", map[string]string{"id": id, "check": "image_digest"})
		hard = fmt.Sprintf("podman_container_hardening_passed{check=\"image_digest\"} %s (a tag, as tracking.conf says)", show(v, vok))
		return id != "" && vok && v == 0
	})
	r.cells["reported"] = cell{ok: code == "200" && seen, detail: fmt.Sprintf("/readyz %s; %s", code, hard)}
	return r
}

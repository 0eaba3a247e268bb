package collectors

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/podman"
)

// storageService is one Podman service as the storage tests drive it: its CLI (as
// root, or as the rootless user), its socket and its podman_service label.
type storageService struct {
	label, socket, version string
	cli                    func(args ...string) (string, error)
}

func (s storageService) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := s.cli(args...)
	if err != nil {
		t.Fatalf("podman %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// df runs podman system df with the format given. Podman 4.3 fails the whole command
// when a container it listed is removed before it looks at it ("does not exist in
// database"), which the other packages' tests, running meanwhile, do all the time:
// that is asked again, anything else fails the test.
func (s storageService) df(t *testing.T, format string) string {
	t.Helper()
	args := []string{"system", "df", "--format", format}
	for attempt := 1; ; attempt++ {
		out, err := s.cli(args...)
		if err == nil {
			return out
		}
		if attempt == 5 || !strings.Contains(err.Error(), "no such container") && !strings.Contains(err.Error(), "no such image") {
			t.Fatalf("podman %s: %v", strings.Join(args, " "), err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// sizeOptions are the harness's intervals with a size round every 2s (paced, so
// less often when Podman takes long over it).
var sizeOptions = podman.Options{StatsInterval: time.Second, SlowInterval: 10 * time.Second, SizeInterval: 2 * time.Second}

// Storage against each rootful service: its file systems equal podman info and df,
// images equal podman system df after a dangling and an unused image are made, and
// a volume filled with known bytes has those bytes.
func TestPodmanStorage(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		s := storageService{label: serviceLabel(p), socket: p.Socket, version: p.Version, cli: func(args ...string) (string, error) {
			out, err := p.Command(args...).CombinedOutput()
			if err != nil {
				return "", fmt.Errorf("%s %s: %w: %s", p.CLI, strings.Join(args, " "), err, out)
			}
			return strings.TrimSpace(string(out)), nil
		}}
		checkStorage(t, s)
	})
}

// The same against the rootless user's service, whose storage lies in its home and
// under /run/user.
func TestPodmanStorageRootless(t *testing.T) {
	r := testenv.RequireRootlessPodman(t)
	resp, err := r.Client.Get("http://podman/version")
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Version string }
	err = json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	checkStorage(t, storageService{label: podman.ServiceName(r.Socket), socket: r.Socket, version: v.Version, cli: r.Podman})
}

func checkStorage(t *testing.T, s storageService) {
	imgs := makeImages(t, s)
	vol, fileBytes := makeFilledVolume(t, s)
	ready := time.Now()
	h := startPodmanWith(t, nil, sizeOptions, s.socket)
	svc := map[string]string{"podman_service": s.label}

	t.Run("filesystems", func(t *testing.T) { checkFileSystems(t, h, s, svc) })

	t.Run("volume", func(t *testing.T) {
		at := map[string]string{"podman_service": s.label, "name": vol}
		h.waitValue("podman_volume_size_bytes", at, float64(fileBytes), time.Minute)
		measured := h.value("podman_volume_size_measured_timestamp_seconds", at)
		if m := time.Unix(0, int64(measured*1e9)); m.Before(ready) || m.After(time.Now()) {
			t.Errorf("measured at %v, want between %v (the volume filled) and now", m, ready)
		}
		mp := s.must(t, "volume", "inspect", vol, "--format", "{{.Mountpoint}}")
		du, dirs := duApparent(t, mp)
		t.Logf("%s: %d bytes of files; du -sb %d, of which directories %d", vol, fileBytes, du, dirs)
		if du-dirs != fileBytes {
			t.Errorf("du -sb %s less its directories is %d, want the %d bytes written", mp, du-dirs, fileBytes)
		}
	})

	t.Run("images", func(t *testing.T) {
		checkImagesAgainstDf(t, h, s, svc, ready)
		dangling := s.must(t, "images", "--filter", "dangling=true", "--format", "{{.ID}}")
		if !strings.Contains(dangling, imgs.dangling[:12]) {
			t.Errorf("the untagged build %s is not dangling: %q", imgs.dangling[:12], dangling)
		}
		// Each built image shares the test image's layer; what it adds is at least its
		// size less the test image's. The dangling and the unused image's are
		// reclaimable, the used one's is not.
		own := func(id string) float64 {
			return imageSize(t, s, id) - imageSize(t, s, testenv.Image)
		}
		size, reclaimable := h.value("podman_images_size_bytes", svc), h.value("podman_images_reclaimable_bytes", svc)
		if min := own(imgs.dangling) + own(imgs.unused); reclaimable < min {
			t.Errorf("reclaimable %.0f, want at least the dangling and the unused image's own %.0f", reclaimable, min)
		}
		if max := size - own(imgs.used); reclaimable > max {
			t.Errorf("reclaimable %.0f of %.0f, want at most %.0f without the used image's own bytes", reclaimable, size, max)
		}
	})
}

// testImages are the images a test makes: two that no container uses, one that a
// container does.
type testImages struct{ dangling, unused, used string }

// makeImages builds, FROM the test image (so they share its layer), an image that a
// second build of the same tag leaves dangling, a tagged image no container uses and
// one a running container uses; all are removed when the test ends.
func makeImages(t *testing.T, s storageService) testImages {
	t.Helper()
	// A context directory the rootless user may read.
	dir, err := os.MkdirTemp("", "podexporter-storage-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tag := "localhost/" + testenv.UniqueName("storage")
	build := func(name string, kb int) string {
		file := filepath.Join(dir, name)
		body := fmt.Sprintf("FROM %s\nRUN dd if=/dev/zero of=/fill bs=1024 count=%d && echo %s > /id\n", testenv.Image, kb, name)
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		ref := tag + ":" + name
		if name == "second" {
			ref = tag + ":first" // takes the tag from the first build, which is left dangling
		}
		out := s.must(t, "build", "-q", "--network=host", "-f", file, "-t", ref, dir)
		lines := strings.Fields(out)
		id := lines[len(lines)-1]
		t.Cleanup(func() { _, _ = s.cli("rmi", "-f", id) })
		return id
	}
	first := build("first", 300)
	build("second", 200)
	imgs := testImages{dangling: first, unused: build("unused", 500), used: build("used", 100)}
	user := testenv.UniqueName("storage-user")
	s.must(t, "run", "-d", "--network=host", "--name", user, imgs.used, "sleep", "600")
	t.Cleanup(func() { _, _ = s.cli("rm", "-f", "-t", "0", user) })
	return imgs
}

// imageSize is podman image inspect's size of an image.
func imageSize(t *testing.T, s storageService, ref string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s.must(t, "image", "inspect", "--format", "{{.Size}}", ref), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// makeFilledVolume creates a volume and writes known bytes into it from a container:
// one file at the top and one in a subdirectory. It returns the volume's name and the
// bytes of its files.
func makeFilledVolume(t *testing.T, s storageService) (string, int64) {
	t.Helper()
	vol := testenv.UniqueName("storage-vol")
	s.must(t, "volume", "create", vol)
	t.Cleanup(func() { _, _ = s.cli("volume", "rm", "-f", vol) })
	s.must(t, "run", "--rm", "--network=host", "-v", vol+":/data", testenv.Image, "sh", "-c",
		"dd if=/dev/zero of=/data/a bs=1000 count=1234 2>/dev/null && mkdir /data/sub && head -c 4321 /dev/zero > /data/sub/b")
	return vol, 1234*1000 + 4321
}

// duApparent is du -sb of path (apparent sizes, directories included) and the
// directories' own share of it.
func duApparent(t *testing.T, path string) (total, dirs int64) {
	t.Helper()
	out, err := exec.Command("du", "-sb", path).Output()
	if err != nil {
		t.Fatalf("du -sb %s: %v", path, err)
	}
	total, err = strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command("find", path, "-type", "d", "-printf", "%s\n").Output()
	if err != nil {
		t.Fatalf("find %s: %v", path, err)
	}
	for _, f := range strings.Fields(string(out)) {
		n, _ := strconv.ParseInt(f, 10, 64)
		dirs += n
	}
	return total, dirs
}

// dfFigures is a df -B1 line: size, used (size less free), available.
func dfFigures(t *testing.T, path string) [3]int64 {
	t.Helper()
	out, err := exec.Command("df", "-B1", "--output=size,used,avail", path).Output()
	if err != nil {
		t.Fatalf("df %s: %v", path, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	var v [3]int64
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i], 10, 64); err != nil {
			t.Fatalf("df %s: %q: %v", path, lines, err)
		}
	}
	return v
}

// usageSlack is how far used and available bytes may move between podexporter's
// look and the reference's: other tests write to the same disk meanwhile.
const usageSlack = 64 << 20

// checkFileSystems compares the graphroot with podman info and with df, and the
// runroot with df, retrying while the disk's usage moves.
func checkFileSystems(t *testing.T, h *podmanHarness, s storageService, svc map[string]string) {
	var info struct {
		Store struct {
			GraphRoot          string `json:"graphRoot"`
			RunRoot            string `json:"runRoot"`
			GraphRootAllocated int64  `json:"graphRootAllocated"`
			GraphRootUsed      int64  `json:"graphRootUsed"`
		} `json:"store"`
	}
	var problems []string
	deadline := time.Now().Add(time.Minute)
	for {
		got := map[string]float64{}
		for _, f := range []string{"graphroot_size", "graphroot_used", "graphroot_available", "runroot_size", "runroot_used", "runroot_available"} {
			got[f] = h.value("podman_storage_"+f+"_bytes", svc)
		}
		if err := json.Unmarshal([]byte(s.must(t, "info", "--format", "json")), &info); err != nil {
			t.Fatal(err)
		}
		graph, run := dfFigures(t, info.Store.GraphRoot), dfFigures(t, info.Store.RunRoot)
		problems = nil
		near := func(what string, got float64, want int64, slack int64) {
			if math.IsNaN(got) || math.Abs(got-float64(want)) > float64(slack) {
				problems = append(problems, fmt.Sprintf("%s = %.0f, want %d ± %d", what, got, want, slack))
			}
		}
		near("graphroot size vs podman info", got["graphroot_size"], info.Store.GraphRootAllocated, 0)
		near("graphroot size vs df", got["graphroot_size"], graph[0], 0)
		near("graphroot used vs podman info", got["graphroot_used"], info.Store.GraphRootUsed, usageSlack)
		near("graphroot used vs df", got["graphroot_used"], graph[1], usageSlack)
		near("graphroot available vs df", got["graphroot_available"], graph[2], usageSlack)
		near("runroot size vs df", got["runroot_size"], run[0], 0)
		near("runroot used vs df", got["runroot_used"], run[1], usageSlack)
		near("runroot available vs df", got["runroot_available"], run[2], usageSlack)
		if len(problems) == 0 {
			t.Logf("graphroot %s: size %.0f, used %.0f, available %.0f; runroot %s: size %.0f, used %.0f, available %.0f",
				info.Store.GraphRoot, got["graphroot_size"], got["graphroot_used"], got["graphroot_available"],
				info.Store.RunRoot, got["runroot_size"], got["runroot_used"], got["runroot_available"])
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("storage file systems of %s:\n%s", s.label, strings.Join(problems, "\n"))
		}
		time.Sleep(time.Second)
	}
}

// dfSummary is the Images row of podman system df --format json (Podman 5: raw
// numbers in RawSize and RawReclaimable) or of --format '{{json .}}' (4.3, whose
// --format json prints the word "json": numbers in Size and Reclaimable).
type dfSummary struct {
	Type                    string
	RawSize, RawReclaimable *int64
	Size, Reclaimable       any
}

func (d dfSummary) figures() (size, reclaimable int64, ok bool) {
	if d.RawSize != nil && d.RawReclaimable != nil {
		return *d.RawSize, *d.RawReclaimable, true
	}
	s, ok1 := d.Size.(float64)
	r, ok2 := d.Reclaimable.(float64)
	return int64(s), int64(r), ok1 && ok2
}

// cliImagesDf is what the service's own podman system df says of images.
func cliImagesDf(t *testing.T, s storageService) (size, reclaimable int64) {
	t.Helper()
	out := s.df(t, "json")
	var rows []dfSummary
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		out = s.df(t, "{{json .}}")
		rows = nil
		for _, line := range strings.Split(out, "\n") {
			var r dfSummary
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("podman system df: %v: %q", err, line)
			}
			rows = append(rows, r)
		}
	}
	for _, r := range rows {
		if r.Type == "Images" {
			if size, reclaimable, ok := r.figures(); ok {
				return size, reclaimable
			}
		}
	}
	t.Fatalf("podman system df has no Images figures: %q", out)
	return 0, 0
}

// cliExtraTags is what Podman before 4.4 counts more than once: its podman system df
// adds an image's size once per tag, podexporter once per image.
func cliExtraTags(t *testing.T, s storageService) (size, reclaimable int64) {
	t.Helper()
	var list []struct {
		Size       int64
		Names      []string
		Containers int
	}
	if err := json.Unmarshal([]byte(s.must(t, "images", "--format", "json")), &list); err != nil {
		t.Fatal(err)
	}
	for _, im := range list {
		if extra := int64(max(len(im.Names)-1, 0)) * im.Size; extra > 0 {
			size += extra
			if im.Containers == 0 {
				reclaimable += extra
			}
		}
	}
	return size, reclaimable
}

// before44 says whether the service's podman system df predates Podman 4.4's fix of
// its image figures.
func before44(version string) bool {
	var major, minor int
	fmt.Sscanf(version, "%d.%d", &major, &minor)
	return major < 4 || (major == 4 && minor < 4)
}

// checkImagesAgainstDf waits for a size round after since, then compares images'
// figures with the service's podman system df until both agree: other tests make
// and remove containers and images on the same services meanwhile.
func checkImagesAgainstDf(t *testing.T, h *podmanHarness, s storageService, svc map[string]string, since time.Time) {
	var last string
	deadline := time.Now().Add(90 * time.Second)
	for {
		size, reclaimable := h.value("podman_images_size_bytes", svc), h.value("podman_images_reclaimable_bytes", svc)
		measured := h.value("podexporter_podman_size_round_duration_seconds", svc)
		dfSize, dfReclaimable := cliImagesDf(t, s)
		if before44(s.version) {
			extraSize, extraReclaimable := cliExtraTags(t, s)
			dfSize, dfReclaimable = dfSize-extraSize, dfReclaimable-extraReclaimable
		}
		last = fmt.Sprintf("podexporter: size %.0f, reclaimable %.0f; podman system df: %d, %d", size, reclaimable, dfSize, dfReclaimable)
		if !math.IsNaN(measured) && size == float64(dfSize) && reclaimable == float64(dfReclaimable) && h.measuredSince(svc, since) {
			t.Logf("Podman %s: %s", s.version, last)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("images of %s never agreed with podman system df: %s", s.label, last)
		}
		time.Sleep(time.Second)
	}
}

// measuredSince says whether the service's last size round ended after t.
func (h *podmanHarness) measuredSince(svc map[string]string, t time.Time) bool {
	for _, sn := range h.src.Snapshots() {
		if sn.Service == svc["podman_service"] {
			return sn.Storage.Measured.After(t)
		}
	}
	return false
}

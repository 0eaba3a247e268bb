package collectors

import (
	"bytes"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/common/expfmt"

	"github.com/podexporter/podexporter/podman"
	"github.com/podexporter/podexporter/systemd"
)

type swappable struct {
	p atomic.Pointer[podman.Snapshot]
}

func (s *swappable) Snapshots() []*podman.Snapshot { return []*podman.Snapshot{s.p.Load()} }

// The cache must serve a new snapshot's values as soon as it is published, and only
// then re-encode.
func TestSnapshotCacheFollowsSnapshots(t *testing.T) {
	src := &swappable{}
	src.p.Store(syntheticSnapshot(2))
	set, err := New(Deps{Enabled: map[string]bool{"container": true}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Podman: src})
	if err != nil {
		t.Fatal(err)
	}
	f := expfmt.NewFormat(expfmt.TypeTextPlain)
	first, err := set.Encoded(f, "", nil)
	if err != nil || !bytes.Contains(first, []byte(`podman_container_state{id="000000000002"`)) {
		t.Fatalf("first encoding lacks container 2 (err %v):\n%.500s", err, first)
	}
	again, _ := set.Encoded(f, "", nil)
	if &again[0] != &first[0] {
		t.Error("same snapshot encoded twice; want the cached bytes")
	}
	next := syntheticSnapshot(3)
	next.Containers[0].State = "paused"
	src.p.Store(next)
	third, _ := set.Encoded(f, "", nil)
	if !bytes.Contains(third, []byte(`podman_container_state{id="000000000003"`)) ||
		!bytes.Contains(third, []byte(`podman_container_state{id="000000000001",pod_id="",pod_name="",podman_service="rootful"} 4`)) {
		t.Fatalf("new snapshot not served:\n%.800s", third)
	}
}

// partsSet is every Podman collector and the systemd collector over one changing
// Podman snapshot of n containers, the first two run by Quadlet units.
func partsSet(t *testing.T, n int) (*Set, *swappedSnapshots, *swappableUnits) {
	t.Helper()
	snap := syntheticSnapshot(n)
	units := &swappableUnits{}
	units.p.Store(syntheticQuadlet(snap, 2))
	src := &swappedSnapshots{}
	src.cur.Store(snap)
	enabled := map[string]bool{"systemd": true}
	for _, name := range PodmanCollectorNames {
		enabled[name] = true
	}
	set, err := New(Deps{Enabled: enabled, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Podman: src, Units: units})
	if err != nil {
		t.Fatal(err)
	}
	return set, src, units
}

type swappableUnits struct {
	p atomic.Pointer[systemd.Snapshot]
}

func (s *swappableUnits) Snapshots() []*systemd.Snapshot { return []*systemd.Snapshot{s.p.Load()} }

// The parts are written one after another, so a family emitted by two of them would
// appear twice in a scrape, which both formats forbid.
func TestPartsShareNoFamily(t *testing.T) {
	set, _, _ := partsSet(t, 5)
	parts, err := set.EncodedParts(expfmt.NewFormat(expfmt.TypeTextPlain), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 3 {
		t.Fatalf("%d parts; want one per collector with a cached part", len(parts))
	}
	owner := map[string]string{}
	for i, p := range parts {
		name := set.cache.parts[i].name
		for _, line := range strings.Split(string(p), "\n") {
			family, ok := strings.CutPrefix(line, "# TYPE ")
			if !ok {
				continue
			}
			family, _, _ = strings.Cut(family, " ")
			if prev, dup := owner[family]; dup {
				t.Errorf("family %s in parts %s and %s", family, prev, name)
			}
			owner[family] = name
		}
	}
	if len(owner) == 0 {
		t.Fatal("no family in any part")
	}
}

// A new Podman snapshot (a stats round) encodes the parts that read it again, but
// not the units part, which reads only systemd's snapshots, nor the hardening part
// while no verdict or label changed; a changed verdict or units snapshot does.
func TestPartsEncodedAgainOnlyWhenTheirInputsChange(t *testing.T) {
	set, src, units := partsSet(t, 5)
	f := expfmt.NewFormat(expfmt.TypeTextPlain)
	index := map[string]int{}
	for i, p := range set.cache.parts {
		index[p.name] = i
	}
	for _, name := range []string{"container", "hardening", "systemd"} {
		if _, ok := index[name]; !ok {
			t.Fatalf("no %s part among %v", name, set.cache.parts)
		}
	}
	encode := func() [][]byte {
		parts, err := set.EncodedParts(f, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		return parts
	}
	same := func(a, b []byte) bool { return len(a) > 0 && len(b) > 0 && &a[0] == &b[0] }
	first := encode()

	src.next() // same containers, new snapshot
	second := encode()
	for name, want := range map[string]bool{"container": false, "hardening": true, "systemd": true} {
		if got := same(first[index[name]], second[index[name]]); got != want {
			t.Errorf("after a stats round, %s part reused: %v, want %v", name, got, want)
		}
	}

	next := *src.cur.Load()
	next.Containers = slices.Clone(next.Containers)
	next.Containers[0].Security.Privileged = true
	src.cur.Store(&next)
	third := encode()
	if same(second[index["hardening"]], third[index["hardening"]]) {
		t.Error("a container became privileged and the hardening part was not encoded again")
	}
	id := podman.ShortID(next.Containers[0].ID)
	if !strings.Contains(string(third[index["hardening"]]), `podman_container_hardening_passed{check="not_privileged",id="`+id+`",pod_id="",pod_name="",podman_service="rootful"} 0`) {
		t.Errorf("the privileged container still passes not_privileged:\n%.600s", third[index["hardening"]])
	}
	if !same(second[index["systemd"]], third[index["systemd"]]) {
		t.Error("the units part was encoded again without a new systemd snapshot")
	}

	u := *units.p.Load()
	u.Units = slices.Clone(u.Units)
	u.Units[0].ActiveState = "failed"
	units.p.Store(&u)
	fourth := encode()
	if same(third[index["systemd"]], fourth[index["systemd"]]) {
		t.Error("a new systemd snapshot and the units part was not encoded again")
	}
	if !same(third[index["container"]], fourth[index["container"]]) {
		t.Error("a new systemd snapshot made the container part be encoded again")
	}
}

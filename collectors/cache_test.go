package collectors

import (
	"bytes"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/prometheus/common/expfmt"

	"github.com/podexporter/podexporter/podman"
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

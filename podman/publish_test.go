package podman

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"
)

// The container cap keeps the newest containers and counts what it leaves out.
func TestPublishCapsContainers(t *testing.T) {
	e := New(Options{URI: "unix:///run/podman/podman.sock", MaxContainers: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	base := time.Now()
	for i := range 5 {
		id := fmt.Sprintf("%064d", i)
		e.containers[id] = &Container{ID: id, Created: base.Add(time.Duration(i) * time.Second), State: "running"}
	}
	e.publish(true)
	s := e.Snapshot()
	if len(s.Containers) != 2 || s.ContainersDropped != 3 {
		t.Fatalf("kept %d, dropped %d; want 2 and 3", len(s.Containers), s.ContainersDropped)
	}
	if s.Containers[0].ID != fmt.Sprintf("%064d", 4) || s.Containers[1].ID != fmt.Sprintf("%064d", 3) {
		t.Fatalf("kept %s and %s, want the two newest", s.Containers[0].ID, s.Containers[1].ID)
	}
	if !s.Up || s.Stale || s.Service != "rootful" {
		t.Fatalf("snapshot header %+v", s)
	}
}

package collectors

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containers/podman/v5/pkg/domain/entities/types"

	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/podman"
	"github.com/podexporter/podexporter/podman/podmanconf"
)

// statsSpy wraps the Podman bindings and records which containers each stats call
// names: the proof that a container left out is never asked for, since Podman reads
// the cgroup of every container a stats call names.
type statsSpy struct {
	mu    sync.Mutex
	asked map[string]int
	calls int
}

type spyAPI struct {
	podman.API
	spy *statsSpy
}

func (s *statsSpy) dial(ctx context.Context, uri string, count func(string)) (podman.API, error) {
	api, err := podman.DialBindings(ctx, uri, count)
	if err != nil {
		return nil, err
	}
	return spyAPI{API: api, spy: s}, nil
}

func (a spyAPI) Stats(ids []string) (chan types.ContainerStatsReport, error) {
	a.spy.mu.Lock()
	a.spy.calls++
	for _, id := range ids {
		a.spy.asked[id]++
	}
	a.spy.mu.Unlock()
	return a.API.Stats(ids)
}

func (s *statsSpy) times(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[id]
}

// TestContainerSelection runs the real source over each Podman service with the
// container selection on: a container with the opt-out label, one excluded by name,
// one by image, one by label, and a pod's infra container (--podman.exclude-infra)
// are absent from every family, while a plain container and the pod's member keep
// theirs; none of the excluded ones is named in a stats call or has stats (the
// cgroup and /proc readings complete a stats answer, so none was read), and the
// service counts them. podman inspect is the independent view of who is who.
func TestContainerSelection(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		prefix := testenv.UniqueName("select")
		// A second name for the test image, so that one container shows another image.
		legacy := "localhost/" + prefix + "-legacy:1"
		p.Output(t, "tag", testenv.Image, legacy)
		t.Cleanup(func() { _ = p.Command("rmi", legacy).Run() }) // untags only: the test image keeps its own name

		settings := podmanconf.Settings{
			ExcludeContainer: `-skipme$`,
			ExcludeImage:     `^localhost/` + prefix + `-legacy:`,
			ExcludeLabels:    []string{"tier=batch"},
			ExcludeInfra:     true,
		}
		sel, err := settings.Selector()
		if err != nil {
			t.Fatal(err)
		}
		spy := &statsSpy{asked: map[string]int{}}
		h := startPodmanWith(t, nil, podman.Options{StatsInterval: time.Second, SlowInterval: 10 * time.Second, Dial: spy.dial, Select: sel}, p.Socket)

		pod := prefix + "-pod"
		p.Output(t, "pod", "create", "--name", pod)
		t.Cleanup(func() { _ = p.Command("pod", "rm", "-f", "-t", "0", pod).Run() })
		kept := map[string]string{} // name -> full id
		excluded := map[string]string{}
		kept[prefix+"-plain"] = p.Run(t, prefix+"-plain", nil, "sleep", "600")
		kept[prefix+"-member"] = p.Run(t, prefix+"-member", []string{"--pod", pod}, "sleep", "600")
		excluded[prefix+"-optout"] = p.Run(t, prefix+"-optout", []string{"--label", podmanconf.OptOutLabel + "=false"}, "sleep", "600")
		excluded[prefix+"-skipme"] = p.Run(t, prefix+"-skipme", nil, "sleep", "600")
		excluded[prefix+"-batch"] = p.Run(t, prefix+"-batch", []string{"--label", "tier=batch"}, "sleep", "600")
		legacyName := prefix + "-legacy"
		excluded[legacyName] = p.Output(t, "run", "-d", "--name", legacyName, legacy, "sleep", "600")
		t.Cleanup(func() { p.Remove(legacyName) })

		// Who is who, as Podman itself says.
		var podInfo struct {
			ID               string `json:"Id"`
			InfraContainerID string
			NumContainers    int
		}
		unmarshalOneOrList(t, p.Output(t, "pod", "inspect", pod), &podInfo)
		infra := podInfo.InfraContainerID
		if p.Output(t, "inspect", "--format", "{{.IsInfra}}", infra) != "true" {
			t.Fatalf("podman inspect says %s is not the pod's infra container", infra)
		}
		excluded["infra"] = infra
		for name, id := range kept {
			if st := inspect(t, p, name).State.Status; st != "running" || inspect(t, p, name).ID != id {
				t.Fatalf("%s: podman inspect says %s", name, st)
			}
		}
		if img := p.Output(t, "inspect", "--format", "{{.ImageName}}", legacyName); img != legacy {
			t.Fatalf("podman inspect shows %s's image as %q, want %q", legacyName, img, legacy)
		}

		// Two stats rounds after every container is running and known.
		for name, id := range kept {
			h.waitValue("podman_container_state", id12(id), 2, 15*time.Second)
			testenv.Eventually(t, 15*time.Second, name+" in two stats calls", func() bool { return spy.times(id) >= 2 })
		}
		testenv.Eventually(t, 15*time.Second, "every excluded container in the snapshot", func() bool {
			for _, id := range excluded {
				if _, c, ok := h.src.Lookup(context.Background(), id); !ok || !c.Excluded {
					return false
				}
			}
			return true
		})

		mfs, err := h.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]map[string]bool{} // id12 -> families
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, lp := range m.GetLabel() {
					if lp.GetName() == "id" {
						if seen[lp.GetValue()] == nil {
							seen[lp.GetValue()] = map[string]bool{}
						}
						seen[lp.GetValue()][mf.GetName()] = true
					}
				}
			}
		}
		for name, id := range excluded {
			if fams := seen[id[:12]]; len(fams) > 0 {
				t.Errorf("%s (excluded) has series: %v", name, keys(fams))
			}
			if n := spy.times(id); n != 0 {
				t.Errorf("%s (excluded) was named in %d stats calls", name, n)
			}
			_, c, _ := h.src.Lookup(context.Background(), id)
			if c.Stats != nil {
				t.Errorf("%s (excluded) has stats: %+v", name, c.Stats)
			}
		}
		for name, id := range kept {
			for _, f := range []string{"podman_container_info", "podman_container_cpu_seconds_total", "podman_container_mem_usage_bytes",
				// from the container's cgroup: read for the kept ones
				"podman_container_memory_working_set_bytes", "podman_container_hardening_passed"} {
				if !seen[id[:12]][f] {
					t.Errorf("%s (kept) has no %s", name, f)
				}
			}
		}
		// The service's own count; other tests may leave containers out meanwhile.
		if got := h.value("podexporter_podman_containers_excluded", map[string]string{"podman_service": serviceLabel(p)}); got < float64(len(excluded)) {
			t.Errorf("podexporter_podman_containers_excluded = %v, want at least %d", got, len(excluded))
		}
		// The pod's count stays Podman's, its infra container included.
		h.waitValue("podman_pod_containers", map[string]string{"id": podInfo.ID[:12]}, float64(podInfo.NumContainers), 10*time.Second)
		spy.mu.Lock()
		t.Logf("%s: %d stats calls; kept %s", p.Name(), spy.calls, strings.Join(keys(kept), ", "))
		spy.mu.Unlock()
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

package podman

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/containers/podman/v5/libpod/define"
	"github.com/containers/podman/v5/pkg/domain/entities/types"
	"github.com/containers/podman/v5/pkg/errorhandling"
	psdefine "github.com/containers/podman/v5/pkg/ps/define"
	"github.com/docker/docker/api/types/events"
	nettypes "go.podman.io/common/libnetwork/types"
)

// fakeAPI is an in-memory Podman service: containers by full id, an event feed the
// test writes to, and containers whose stats fail (as one left "running" by a crash).
type fakeAPI struct {
	mu         sync.Mutex
	containers map[string]*define.InspectContainerData
	statsFail  map[string]bool
	feed       chan types.Event
	sinces     []string // the since of each subscription
	calls      map[string]int
	// stalls holds the calls (by their count name) that wait until the channel is
	// closed, as Podman 5's info or a stats call on a loaded host take seconds.
	stalls map[string]chan struct{}
	// df is what SystemDf answers (an empty report when nil), dfErr its failure;
	// store is the info answer's storage part; sizes are the sized list's layer
	// sizes by container id; volumes what the volume list answers.
	df      *types.SystemDfReport
	dfErr   error
	store   *define.StoreInfo
	sizes   map[string][2]int64
	volumes []*types.VolumeListReport
	// asked counts, per container id, the stats calls that named it.
	asked map[string]int
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{
		containers: map[string]*define.InspectContainerData{},
		statsFail:  map[string]bool{},
		feed:       make(chan types.Event, 64),
		calls:      map[string]int{},
		stalls:     map[string]chan struct{}{},
		asked:      map[string]int{},
	}
}

// stall makes the named call wait, once it is entered, until release is called.
func (f *fakeAPI) stall(call string) (release func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.stalls[call] = ch
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.stalls, call)
			f.mu.Unlock()
			close(ch)
		})
	}
}

// callCount returns how often the named call was made.
func (f *fakeAPI) callCount(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[call]
}

// dial is the engine's Dialer for this fake.
func (f *fakeAPI) dial(context.Context, string, func(string)) (API, error) { return f, nil }

// put adds or replaces a container.
func (f *fakeAPI) put(id, name, state string, exitCode int32, finished time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.containers[id] = &define.InspectContainerData{
		ID: id, Name: name, ImageName: "localhost/busybox:test", Image: "b0b0",
		State: &define.InspectContainerState{Status: state, Running: state == "running", ExitCode: exitCode,
			StartedAt: time.Now().Add(-time.Minute), FinishedAt: finished, Pid: 0},
		Config:     &define.InspectContainerConfig{Labels: map[string]string{}},
		HostConfig: &define.InspectContainerHostConfig{NetworkMode: "host"},
	}
}

// event sends one container event, as Podman's stream would.
func (f *fakeAPI) event(action, id, name string, at time.Time) {
	f.feed <- types.Event{Message: events.Message{Type: "container", Action: events.Action(action), TimeNano: at.UnixNano(),
		Actor: events.Actor{ID: id, Attributes: map[string]string{"name": name}}}}
}

// count counts a call, then holds it while the call is stalled.
func (f *fakeAPI) count(call string) {
	f.mu.Lock()
	f.calls[call]++
	stalled := f.stalls[call]
	f.mu.Unlock()
	if stalled != nil {
		<-stalled
	}
}

// imageEvent sends an image event (a pull, which Podman 5 writes for every podman run).
func (f *fakeAPI) imageEvent(action string, at time.Time) {
	f.feed <- types.Event{Message: events.Message{Type: "image", Action: events.Action(action), TimeNano: at.UnixNano(),
		Actor: events.Actor{Attributes: map[string]string{"name": "localhost/busybox:test"}}}}
}

func (f *fakeAPI) Events(ch chan types.Event, cancel chan bool, since string) error {
	f.mu.Lock()
	f.sinces = append(f.sinces, since)
	f.mu.Unlock()
	go func() {
		defer close(ch)
		for {
			select {
			case <-cancel:
				return
			case ev, ok := <-f.feed:
				if !ok {
					return // the service went away
				}
				ch <- ev
			}
		}
	}()
	return nil
}

func (f *fakeAPI) ListContainers(withSize bool) ([]types.ListContainer, error) {
	if withSize {
		f.count("list_size")
	} else {
		f.count("list")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []types.ListContainer
	for id := range f.containers {
		lc := types.ListContainer{ID: id}
		if sz, ok := f.sizes[id]; ok && withSize {
			lc.Size = &psdefine.ContainerSize{RwSize: sz[0], RootFsSize: sz[1]}
		}
		out = append(out, lc)
	}
	return out, nil
}

func (f *fakeAPI) SystemDf() (*types.SystemDfReport, error) {
	f.count("df")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dfErr != nil {
		return nil, f.dfErr
	}
	if f.df == nil {
		return &types.SystemDfReport{}, nil
	}
	cp := *f.df
	return &cp, nil
}

func (f *fakeAPI) InspectContainer(id string) (*define.InspectContainerData, error) {
	f.count("inspect")
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return nil, &errorhandling.ErrorModel{Because: "no such container", ResponseCode: http.StatusNotFound}
	}
	cp := *c
	st := *c.State
	cp.State = &st
	return &cp, nil
}

func (f *fakeAPI) ListPods() ([]*types.ListPodsReport, error) { return nil, nil }
func (f *fakeAPI) Info() (*define.Info, error) {
	f.count("info")
	f.mu.Lock()
	defer f.mu.Unlock()
	return &define.Info{Version: define.Version{APIVersion: "5.7.0"}, Host: &define.HostInfo{}, Store: f.store}, nil
}
func (f *fakeAPI) ListImages() ([]*types.ImageSummary, error) {
	f.count("images")
	return nil, nil
}
func (f *fakeAPI) ListVolumes() ([]*types.VolumeListReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.volumes, nil
}
func (f *fakeAPI) ListNetworks() ([]nettypes.Network, error) { return nil, nil }

// Stats fails the whole call when one container's fails, as Podman does.
func (f *fakeAPI) Stats(ids []string) (chan types.ContainerStatsReport, error) {
	f.count("stats")
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		f.asked[id]++
	}
	ch := make(chan types.ContainerStatsReport, 1)
	for _, id := range ids {
		if f.statsFail[id] {
			ch <- types.ContainerStatsReport{Error: errors.New("cgroup gone: " + id)}
			close(ch)
			return ch, nil
		}
	}
	var report []define.ContainerStats
	for _, id := range ids {
		report = append(report, define.ContainerStats{ContainerID: id, CPUNano: 1e9, MemUsage: 1 << 20, PIDs: 1})
	}
	ch <- types.ContainerStatsReport{Stats: report}
	close(ch)
	return ch, nil
}

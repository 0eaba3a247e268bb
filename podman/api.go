package podman

import (
	"context"
	"fmt"

	"github.com/containers/podman/v5/libpod/define"
	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/bindings/images"
	"github.com/containers/podman/v5/pkg/bindings/network"
	"github.com/containers/podman/v5/pkg/bindings/pods"
	"github.com/containers/podman/v5/pkg/bindings/system"
	"github.com/containers/podman/v5/pkg/bindings/volumes"
	"github.com/containers/podman/v5/pkg/domain/entities/types"
	nettypes "go.podman.io/common/libnetwork/types"
)

// API is the part of the Podman REST API an engine uses, on one connection. The real
// one is the bindings; tests give the engine a fake, so its logic (events to snapshot,
// the stats fallback, OOM inference, event ownership) runs in milliseconds.
type API interface {
	// Events streams events into ch until cancel is closed; the stream's end closes ch.
	Events(ch chan types.Event, cancel chan bool, since string) error
	ListContainers(withSize bool) ([]types.ListContainer, error)
	// InspectContainer fails with an error isNotFound recognises for a container the
	// service does not have.
	InspectContainer(id string) (*define.InspectContainerData, error)
	ListPods() ([]*types.ListPodsReport, error)
	Info() (*define.Info, error)
	ListImages() ([]*types.ImageSummary, error)
	ListVolumes() ([]*types.VolumeListReport, error)
	ListNetworks() ([]nettypes.Network, error)
	// Stats returns one report for ids; Podman fails all of it when one fails.
	Stats(ids []string) (chan types.ContainerStatsReport, error)
	// SystemDf is `podman system df`: Podman walks every container layer and volume
	// to answer it, so it takes seconds on a large host (see storage_df.go).
	SystemDf() (*types.SystemDfReport, error)
}

// Dialer connects to the service at a URI; its API lives as long as ctx.
type Dialer func(ctx context.Context, uri string, count func(endpoint string)) (API, error)

// DialBindings connects with the Podman bindings, counting each request by endpoint.
func DialBindings(ctx context.Context, uri string, count func(endpoint string)) (API, error) {
	conn, err := bindings.NewConnection(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", uri, err)
	}
	count("_ping")
	if client, err := bindings.GetClient(conn); err == nil {
		client.Client.Transport = &countingTransport{next: client.Client.Transport, count: count}
	}
	return bindingsAPI{conn}, nil
}

// bindingsAPI is the API over a bindings connection, which lives in its context.
type bindingsAPI struct{ conn context.Context }

func (a bindingsAPI) Events(ch chan types.Event, cancel chan bool, since string) error {
	stream := true
	opts := &system.EventsOptions{
		Stream:  &stream,
		Filters: map[string][]string{"type": {"container", "pod", "image", "volume", "network"}},
	}
	if since != "" {
		opts.Since = &since
	}
	return system.Events(a.conn, ch, cancel, opts)
}

func (a bindingsAPI) ListContainers(withSize bool) ([]types.ListContainer, error) {
	all := true
	return containers.List(a.conn, &containers.ListOptions{All: &all, Size: &withSize})
}

func (a bindingsAPI) InspectContainer(id string) (*define.InspectContainerData, error) {
	return containers.Inspect(a.conn, id, nil)
}

func (a bindingsAPI) ListPods() ([]*types.ListPodsReport, error) { return pods.List(a.conn, nil) }
func (a bindingsAPI) Info() (*define.Info, error)                { return system.Info(a.conn, nil) }
func (a bindingsAPI) ListImages() ([]*types.ImageSummary, error) { return images.List(a.conn, nil) }
func (a bindingsAPI) ListVolumes() ([]*types.VolumeListReport, error) {
	return volumes.List(a.conn, nil)
}
func (a bindingsAPI) ListNetworks() ([]nettypes.Network, error) { return network.List(a.conn, nil) }

func (a bindingsAPI) SystemDf() (*types.SystemDfReport, error) {
	return system.DiskUsage(a.conn, nil)
}

func (a bindingsAPI) Stats(ids []string) (chan types.ContainerStatsReport, error) {
	stream := false
	return containers.Stats(a.conn, ids, &containers.StatsOptions{Stream: &stream})
}

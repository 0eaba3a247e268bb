package podman

import (
	"net/url"
	"testing"

	"github.com/containers/podman/v5/libpod/define"
)

func TestParseNetDev(t *testing.T) {
	const header = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
	tests := []struct {
		name    string
		body    string
		want    NetworkCounters
		wantErr bool
	}{
		{"loopback excluded", "    lo: 100 2 0 0 0 0 0 0 100 2 0 0 0 0 0 0\n  eth0: 1000 10 1 2 0 0 0 0 500 5 3 4 0 0 0 0\n",
			NetworkCounters{Source: "netns", RxBytes: 1000, RxPackets: 10, RxErrors: 1, RxDropped: 2, TxBytes: 500, TxPackets: 5, TxErrors: 3, TxDropped: 4}, false},
		{"interfaces summed", "  eth0: 1 1 0 0 0 0 0 0 2 2 0 0 0 0 0 0\n  eth1: 10 10 0 0 0 0 0 0 20 20 0 0 0 0 0 0\n",
			NetworkCounters{Source: "netns", RxBytes: 11, RxPackets: 11, TxBytes: 22, TxPackets: 22}, false},
		{"only loopback", "    lo: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n", NetworkCounters{Source: "netns"}, false},
		{"short line", "  eth0: 1 2 3\n", NetworkCounters{}, true},
		{"not a number", "  eth0: x 1 0 0 0 0 0 0 2 2 0 0 0 0 0 0\n", NetworkCounters{}, true},
		{"no colon", "  eth0 1 1 0 0 0 0 0 0 2 2 0 0 0 0 0 0\n", NetworkCounters{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseNetDev([]byte(header + tc.body))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && *got != tc.want {
				t.Fatalf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestAPINetwork(t *testing.T) {
	if apiNetwork(nil) != nil {
		t.Fatal("an empty map (Podman 4.x) must give nil, so the netns fallback runs")
	}
	n := apiNetwork(map[string]define.ContainerNetworkStats{"eth0": {RxBytes: 3, TxBytes: 4}, "eth1": {RxBytes: 5, TxPackets: 1}})
	if n.Source != "api" || n.RxBytes != 8 || n.TxBytes != 4 || n.TxPackets != 1 {
		t.Fatalf("got %+v", *n)
	}
}

func TestServiceName(t *testing.T) {
	for uri, want := range map[string]string{
		"unix:///run/podman/podman.sock":           "rootful",
		"unix:///run/user/1000/podman/podman.sock": "rootless-1000",
		"unix:///tmp/other.sock":                   "unix:///tmp/other.sock",
		"tcp://10.0.0.1:8888":                      "tcp://10.0.0.1:8888",
	} {
		if got := ServiceName(uri); got != want {
			t.Errorf("ServiceName(%q) = %q, want %q", uri, got, want)
		}
	}
}

func TestEndpoint(t *testing.T) {
	for path, want := range map[string]string{
		"/v5.7.0/libpod/containers/json":              "libpod/containers/json",
		"/v5.7.0/libpod/containers/abc123/json":       "libpod/containers/{id}/json",
		"/v5.7.0/libpod/containers/stats":             "libpod/containers/stats",
		"/v5.7.0/libpod/events":                       "libpod/events",
		"/_ping":                                      "_ping",
		"/v5.7.0/libpod/pods/json":                    "libpod/pods/json",
		"/v4.0.0/libpod/containers/my-name/json/more": "libpod/containers/{id}/json/more",
	} {
		if got := endpoint(&url.URL{Path: path}); got != want {
			t.Errorf("endpoint(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestSplitRepoTag(t *testing.T) {
	for in, want := range map[string][2]string{
		"localhost/busybox:test":                 {"localhost/busybox", "test"},
		"registry:5000/team/app:1.2":             {"registry:5000/team/app", "1.2"},
		"registry:5000/team/app":                 {"registry:5000/team/app", "<none>"},
		"registry.example/library/alpine:latest": {"registry.example/library/alpine", "latest"},
	} {
		r, tag := splitRepoTag(in)
		if r != want[0] || tag != want[1] {
			t.Errorf("splitRepoTag(%q) = %q, %q; want %q, %q", in, r, tag, want[0], want[1])
		}
	}
}

func TestFormatPorts(t *testing.T) {
	got := formatPorts(map[string][]define.InspectHostPort{
		"80/tcp":  {{HostIP: "", HostPort: "8080"}},
		"53/udp":  {{HostIP: "127.0.0.1", HostPort: "5353"}},
		"443/tcp": nil,
	})
	if want := "0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp"; got != want {
		t.Fatalf("formatPorts = %q, want %q", got, want)
	}
}

package podman

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/containers/podman/v5/libpod/define"
)

// parseNetDev sums /proc/PID/net/dev over every interface but loopback. Read through
// a container's PID it is that container's network namespace: the counters Podman
// 4.x does not put in its stats.
func parseNetDev(data []byte) (*NetworkCounters, error) {
	n := &NetworkCounters{Source: "netns"}
	// Called for every container every stats round: bytes.Lines, not a Scanner and
	// its 4 KB buffer per call.
	line := 0
	for text := range bytes.Lines(data) {
		line++
		if line <= 2 { // two header lines
			continue
		}
		text = bytes.TrimRight(text, "\n")
		if len(text) == 0 {
			continue
		}
		iface, rest, ok := strings.Cut(string(text), ":")
		if !ok {
			return nil, fmt.Errorf("net/dev line %d: no interface name", line)
		}
		if strings.TrimSpace(iface) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 16 {
			return nil, fmt.Errorf("net/dev line %d: %d fields, want 16", line, len(f))
		}
		var v [16]uint64
		for i := range v {
			x, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("net/dev line %d field %d: %w", line, i+1, err)
			}
			v[i] = x
		}
		// Receive: bytes packets errs drop fifo frame compressed multicast; then transmit.
		n.RxBytes += v[0]
		n.RxPackets += v[1]
		n.RxErrors += v[2]
		n.RxDropped += v[3]
		n.TxBytes += v[8]
		n.TxPackets += v[9]
		n.TxErrors += v[10]
		n.TxDropped += v[11]
	}
	return n, nil
}

// apiNetwork sums Podman 5's per-interface stats; nil when the service sent none.
func apiNetwork(m map[string]define.ContainerNetworkStats) *NetworkCounters {
	if len(m) == 0 {
		return nil
	}
	n := &NetworkCounters{Source: "api"}
	for _, s := range m {
		n.RxBytes += s.RxBytes
		n.RxPackets += s.RxPackets
		n.RxErrors += s.RxErrors
		n.RxDropped += s.RxDropped
		n.TxBytes += s.TxBytes
		n.TxPackets += s.TxPackets
		n.TxErrors += s.TxErrors
		n.TxDropped += s.TxDropped
	}
	return n
}

// readOOMCounter returns the kernel's count of OOM kills from /proc/vmstat.
func readOOMCounter(procRoot string) (uint64, error) {
	data, err := os.ReadFile(procRoot + "/vmstat")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			return strconv.ParseUint(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no oom_kill in %s/vmstat", procRoot)
}

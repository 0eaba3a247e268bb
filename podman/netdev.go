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
	// Called for every container every stats round: in place, without a string, a
	// slice of fields or a Scanner's buffer per line.
	line := 0
	for len(data) > 0 {
		text := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			text, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line++
		if line <= 2 || len(text) == 0 { // two header lines
			continue
		}
		iface, rest, ok := bytes.Cut(text, []byte{':'})
		if !ok {
			return nil, fmt.Errorf("net/dev line %d: no interface name", line)
		}
		if string(bytes.TrimSpace(iface)) == "lo" {
			continue
		}
		var v [16]uint64
		for i := range v {
			var field []byte
			field, rest = nextField(rest)
			if field == nil {
				return nil, fmt.Errorf("net/dev line %d: %d fields, want 16", line, i)
			}
			x, err := strconv.ParseUint(string(field), 10, 64)
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

// nextField splits the first field, separated by ASCII white space, off b; nil when
// there is none.
func nextField(b []byte) (field, rest []byte) {
	start := 0
	for start < len(b) && isSpace(b[start]) {
		start++
	}
	if start == len(b) {
		return nil, nil
	}
	end := start
	for end < len(b) && !isSpace(b[end]) {
		end++
	}
	return b[start:end], b[end:]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

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

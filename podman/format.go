package podman

import (
	"fmt"
	"sort"
	"strings"

	"github.com/containers/podman/v5/libpod/define"
)

// formatPorts renders published ports the way `podman ps` does: 0.0.0.0:8080->80/tcp.
func formatPorts(bindings map[string][]define.InspectHostPort) string {
	var out []string
	for port, hosts := range bindings {
		for _, h := range hosts {
			ip := h.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			out = append(out, fmt.Sprintf("%s:%s->%s", ip, h.HostPort, port))
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// formatLabels renders a label map as sorted k=v pairs, as prometheus-podman-exporter's
// podman_network_info labels label does.
func formatLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ",")
}

// splitRepoTag splits registry:5000/repo:tag at the last colon after the last slash.
func splitRepoTag(s string) (repo, tag string) {
	slash := strings.LastIndex(s, "/")
	if i := strings.LastIndex(s, ":"); i > slash {
		return s[:i], s[i+1:]
	}
	return s, "<none>"
}

// ShortID is the 12-character id form prometheus-podman-exporter uses in labels.
func ShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

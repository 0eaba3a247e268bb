package collectors

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/podman"
)

// containerLabels gives every per-container family its label names and values in one
// way: the catalog's labels, the family's own (a health check result, a drop reason),
// and with --podman.name-label the container name last.
type containerLabels struct{ name bool }

// desc is m's descriptor with the optional name label.
func (l containerLabels) desc(m *catalog.Metric) *prometheus.Desc {
	labels := m.Labels
	if l.name {
		labels = append(append([]string(nil), labels...), "name")
	}
	return newDesc(m.Name, m.Help, labels)
}

// values are the label values of container k of snapshot s: id, pod_id, pod_name,
// podman_service, then extra, then the name when asked for.
func (l containerLabels) values(s *podman.Snapshot, k *podman.Container, extra ...string) []string {
	v := make([]string, 0, 5+len(extra))
	v = append(v, podman.ShortID(k.ID), k.PodID, k.PodName, s.Service)
	v = append(v, extra...)
	if l.name {
		v = append(v, k.Name)
	}
	return v
}

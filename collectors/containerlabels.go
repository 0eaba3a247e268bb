package collectors

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/podman"
)

// containerLabels gives every per-container family its label names and values in one
// way: the catalog's labels, the family's own (a health check result, a drop reason),
// and then, when asked for, the container name (--podman.name-label) and its image
// (--podman.image-name-label), as podman_container_info has them.
type containerLabels struct{ name, image bool }

// containerLabelsOf is the label options of deps.
func containerLabelsOf(d Deps) containerLabels {
	return containerLabels{name: d.NameLabel, image: d.ImageNameLabel}
}

// desc is m's descriptor with the optional name and image labels.
func (l containerLabels) desc(m *catalog.Metric) *prometheus.Desc {
	labels := m.Labels
	if l.name || l.image {
		labels = append([]string(nil), labels...)
		if l.name {
			labels = append(labels, "name")
		}
		if l.image {
			labels = append(labels, "image")
		}
	}
	return newDesc(m.Name, m.Help, labels)
}

// values are the label values of container k of snapshot s: id, pod_id, pod_name,
// podman_service, then extra, then the name and the image when asked for.
func (l containerLabels) values(s *podman.Snapshot, k *podman.Container, extra ...string) []string {
	v := make([]string, 0, 6+len(extra))
	v = append(v, podman.ShortID(k.ID), k.PodID, k.PodName, s.Service)
	v = append(v, extra...)
	if l.name {
		v = append(v, k.Name)
	}
	if l.image {
		v = append(v, k.Image)
	}
	return v
}

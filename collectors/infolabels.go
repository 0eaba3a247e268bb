package collectors

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/podman/podmanconf"
)

// maxInfoDescs bounds the descriptors an info family keeps for the label sets of
// objects whose every label is taken (podmanconf.AllLabels): containers created with
// ever new label keys must not grow the heap for good. Past it the kept ones are
// dropped and made again as needed.
const maxInfoDescs = 1024

// infoFamily sends an info family (podman_container_info, _pod_info, _image_info):
// its fixed labels, then each object's allowlisted labels. A fixed allowlist gives one
// descriptor; with every label taken, each object's series carries its own labels, as
// prometheus-podman-exporter's --collector.store_labels does, and the descriptor
// depends on which labels the object has.
type infoFamily struct {
	m     *catalog.Metric
	allow podmanconf.Allowlist
	head  familyHead
	fixed *prometheus.Desc // nil with every label taken

	mu      sync.Mutex
	byNames map[string]*prometheus.Desc // label names joined by \x00 -> descriptor
}

func newInfoFamily(m *catalog.Metric, allow podmanconf.Allowlist) *infoFamily {
	f := &infoFamily{m: m, allow: allow, head: familyHead{m.Name, m.Help}}
	if allow.All {
		f.byNames = map[string]*prometheus.Desc{}
	} else {
		f.fixed = newDesc(m.Name, m.Help, append(append([]string(nil), m.Labels...), allow.Names...))
	}
	return f
}

// send sends the series of one object: fixed are its values of the family's own
// labels, exported its allowlisted labels as the source keeps them (values cut).
func (f *infoFamily) send(ch chan<- prometheus.Metric, exported map[string]string, fixed ...string) {
	names, values, _ := f.allow.Labels(exported)
	all := make([]string, 0, len(fixed)+len(values))
	all = append(append(all, fixed...), values...)
	if f.fixed != nil {
		send(ch, f.fixed, prometheus.GaugeValue, 1, all...)
		return
	}
	d := f.desc(names)
	m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, 1, all...)
	if err != nil {
		failures.dropSeriesOf(f.m.Name, err)
		return
	}
	// Not made by newDesc, which remembers every descriptor for good: the metric
	// carries its family's name and help itself.
	ch <- headedMetric{Metric: m, head: f.head}
}

// desc is the descriptor for one set of extra label names.
func (f *infoFamily) desc(names []string) *prometheus.Desc {
	key := strings.Join(names, "\x00")
	f.mu.Lock()
	defer f.mu.Unlock()
	if d, ok := f.byNames[key]; ok {
		return d
	}
	if len(f.byNames) >= maxInfoDescs {
		clear(f.byNames)
	}
	d := prometheus.NewDesc(f.m.Name, f.m.Help, append(append([]string(nil), f.m.Labels...), names...), nil)
	f.byNames[key] = d
	return d
}

// headedMetric is a metric whose descriptor newDesc did not make, with its family's
// name and help for the streaming encoder.
type headedMetric struct {
	prometheus.Metric
	head familyHead
}

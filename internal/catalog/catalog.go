// Package catalog declares every metric podexporter exposes, once. The Prometheus
// collectors, the OTLP pusher and docs/metrics.md all read these declarations, so a
// metric cannot exist on one side only or drift between them.
package catalog

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Kind is how a metric's value behaves over time.
type Kind int

const (
	// Gauge is a value that goes up and down.
	Gauge Kind = iota
	// Counter only grows, except when its source restarts.
	Counter
	// Info is a gauge fixed at 1 whose labels carry metadata for group_left joins.
	Info
)

func (k Kind) String() string {
	switch k {
	case Gauge:
		return "gauge"
	case Counter:
		return "counter"
	case Info:
		return "info"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Subject is what an "id" label identifies.
type Subject string

// The subjects of "id" labels.
const (
	SubjectContainer Subject = "container"
	SubjectPod       Subject = "pod"
	SubjectImage     Subject = "image"
	SubjectNetwork   Subject = "network"
)

// OTelIDAttribute is the OpenTelemetry attribute for an id of this subject, following
// the semantic conventions where they name one.
func (s Subject) OTelIDAttribute() string {
	switch s {
	case SubjectContainer:
		return "container.id"
	case SubjectImage:
		return "container.image.id"
	case SubjectPod:
		return "podman.pod.id"
	case SubjectNetwork:
		return "podman.network.id"
	}
	return "id"
}

// Metric is one metric family as both sinks see it.
type Metric struct {
	// Name is the Prometheus name, with its unit suffix and _total for counters.
	Name string
	// OTelName is the OpenTelemetry instrument name; empty when the metric is
	// Prometheus-only (exporter self-metrics that a push pipeline has no use for).
	OTelName string
	// Unit is the UCUM unit OpenTelemetry wants ("s", "By", "1", "{container}").
	Unit string
	Kind Kind
	Help string
	// Labels are the Prometheus label names in the order values are given.
	Labels []string
	// Group names the collector or subsystem the metric belongs to, for the docs only.
	Group string
	// IDOf says what the "id" label identifies. A container's series describes that
	// container, whatever collector made it: an OTLP push puts it on the container's
	// resource rather than the host's. Other ids become OTLP attributes named for what
	// they identify.
	IDOf Subject
	// Compat marks a family kept with prometheus-podman-exporter's name, labels and
	// encoding so existing dashboards keep working; such names predate the unit-suffix
	// conventions and are exempt from them.
	Compat bool
	// OTelAttributes are fixed attributes that tell this family apart from others mapped
	// to the same OpenTelemetry instrument (cpu.mode=user, network.io.direction=receive).
	OTelAttributes map[string]string
	// Cgroup names the kernel files a family is read from, for the docs' table of what
	// cgroup v2 and v1 offer; nil for families that do not come from cgroup files.
	Cgroup *CgroupFiles
}

// CgroupFiles are the files a family is read from on cgroup v2 and on v1 (hybrid hosts'
// controllers are v1's); "" where that version has none.
type CgroupFiles struct{ V2, V1 string }

// groupDoc is what the docs say of a group beyond its families: a paragraph under its
// heading for what they all share, and the group it follows (else the order in which
// the groups were first declared, which is the order of the files).
type groupDoc struct{ note, after string }

var groupDocs = map[string]groupDoc{}

// documentGroup sets the docs' paragraph for a group and the group it follows.
func documentGroup(group, after, note string) string {
	groupDocs[group] = groupDoc{note: note, after: after}
	return note
}

// Self-metrics of the exporter. Podman, journald and eBPF families are declared in
// files of their own beside this one.
var (
	ScrapeCollectorDuration = register(Metric{
		Name:   "podexporter_scrape_collector_duration_seconds",
		Unit:   "s",
		Kind:   Gauge,
		Help:   "How long the collector took during the last scrape.",
		Labels: []string{"collector"},
		Group:  "exporter",
	})
	ScrapeCollectorSuccess = register(Metric{
		Name:   "podexporter_scrape_collector_success",
		Unit:   "1",
		Kind:   Gauge,
		Help:   "Whether the collector succeeded during the last scrape (1) or failed (0).",
		Labels: []string{"collector"},
		Group:  "exporter",
	})
	ScrapeCollectorFailures = register(Metric{
		Name:   "podexporter_scrape_collector_failures_total",
		Unit:   "{run}",
		Kind:   Counter,
		Help:   "Collector runs that failed or panicked since start (a panic is recovered: the scrape goes on without that collector's series).",
		Labels: []string{"collector"},
		Group:  "exporter",
	})
	ScrapeSeriesDropped = register(Metric{
		Name:   "podexporter_scrape_series_dropped_total",
		Unit:   "{series}",
		Kind:   Counter,
		Help:   "Series left out of scrapes because their label values could not be exposed (such as invalid UTF-8 from a container or the journal), by family.",
		Labels: []string{"family"},
		Group:  "exporter",
	})
	BuildInfo = register(Metric{
		Name:   "podexporter_build_info",
		Kind:   Info,
		Unit:   "1",
		Help:   "Build information of the running podexporter; always 1.",
		Labels: []string{"version", "revision", "goversion"},
		Group:  "exporter",
	})
	Ready = register(Metric{
		Name:  "podexporter_ready",
		Kind:  Gauge,
		Unit:  "1",
		Help:  "Whether every enabled source has started (1), as /readyz reports.",
		Group: "exporter",
	})
)

var all []*Metric

// register keeps declaration order for the docs and panics on a duplicate name, which
// can only be a programming error found by the first test run.
func register(m Metric) *Metric {
	for _, o := range all {
		if o.Name == m.Name {
			panic("catalog: duplicate metric " + m.Name)
		}
	}
	all = append(all, &m)
	return &m
}

// All returns every declared metric in declaration order.
func All() []*Metric {
	return slices.Clone(all)
}

// Lookup finds a metric by its Prometheus name.
func Lookup(name string) (*Metric, bool) {
	for _, m := range all {
		if m.Name == name {
			return m, true
		}
	}
	return nil, false
}

// Markdown renders the catalog as the reference page docs/metrics.md.
func Markdown() string {
	var b strings.Builder
	b.WriteString("# Metrics reference\n\n")
	b.WriteString("Generated from `internal/catalog` by `make docs`; do not edit by hand.\n")
	b.WriteString("A test fails when this file and the catalog disagree.\n\n")
	b.WriteString("Besides these, `/metrics` serves client_golang's standard `go_*` families and its `process_*` families " +
		"(from `internal/procself`, which reads them for a fifth to a fifteenth of the cost), less `process_network_receive_bytes_total` " +
		"and `process_network_transmit_bytes_total`: they count the whole network namespace, every byte of the host for a daemon " +
		"on the host's network. `--web.disable-exporter-metrics` leaves both out.\n")
	var groups []string
	for _, m := range all {
		if !slices.Contains(groups, m.Group) {
			groups = append(groups, m.Group)
		}
	}
	for _, g := range slices.Sorted(maps.Keys(groupDocs)) {
		after := groupDocs[g].after
		if after == "" || !slices.Contains(groups, g) || !slices.Contains(groups, after) {
			continue
		}
		groups = slices.DeleteFunc(groups, func(x string) bool { return x == g })
		groups = slices.Insert(groups, slices.Index(groups, after)+1, g)
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "\n## %s\n\n", g)
		if note := groupDocs[g].note; note != "" {
			b.WriteString(note + "\n\n")
		}
		b.WriteString("| Prometheus name | type | labels | OpenTelemetry name | unit | origin | help |\n")
		b.WriteString("|---|---|---|---|---|---|---|\n")
		for _, m := range all {
			if m.Group != g {
				continue
			}
			otel := m.OTelName
			if otel == "" {
				otel = "—"
			} else {
				otel = "`" + otel + "`"
				keys := make([]string, 0, len(m.OTelAttributes))
				for k := range m.OTelAttributes {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for _, k := range keys {
					otel += fmt.Sprintf(" `%s=%s`", k, m.OTelAttributes[k])
				}
			}
			origin := "podexporter"
			if m.Compat {
				origin = "prometheus-podman-exporter"
			}
			labels := "—"
			if len(m.Labels) > 0 {
				labels = "`" + strings.Join(m.Labels, "`, `") + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | `%s` | %s | %s |\n", m.Name, m.Kind, labels, otel, m.Unit, origin, m.Help)
		}
		cgroupTable(&b, g)
	}
	return b.String()
}

// cgroupTable lists where a group's families come from on cgroup v2 and v1, when they
// come from cgroup files.
func cgroupTable(b *strings.Builder, group string) {
	header := false
	for _, m := range all {
		if m.Group != group || m.Cgroup == nil {
			continue
		}
		if !header {
			b.WriteString("\n| family | cgroup v2 | cgroup v1 |\n|---|---|---|\n")
			header = true
		}
		v2, v1 := m.Cgroup.V2, m.Cgroup.V1
		if v2 == "" {
			v2 = "none"
		}
		if v1 == "" {
			v1 = "none"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", m.Name, v2, v1)
	}
}

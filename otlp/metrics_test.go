package otlp

import (
	"context"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
)

// catalogFamilies makes one series for every catalog family that is pushed, with each
// label set to a value that names it, and "id" set to id.
func catalogFamilies(id string) []*dto.MetricFamily {
	var fams []*dto.MetricFamily
	for _, m := range catalog.All() {
		if m.OTelName == "" {
			continue
		}
		s := &dto.Metric{}
		for _, l := range m.Labels {
			v := "v-" + l
			if l == "id" {
				v = id
			}
			s.Label = append(s.Label, &dto.LabelPair{Name: proto.String(l), Value: proto.String(v)})
		}
		typ := dto.MetricType_GAUGE
		if m.Kind == catalog.Counter {
			typ = dto.MetricType_COUNTER
			s.Counter = &dto.Counter{Value: proto.Float64(1)}
		} else {
			s.Gauge = &dto.Gauge{Value: proto.Float64(1)}
		}
		fams = append(fams, &dto.MetricFamily{Name: proto.String(m.Name), Type: &typ, Metric: []*dto.Metric{s}})
	}
	return fams
}

// TestEveryContainerSeriesOnItsResource walks the catalog, pushes one series of every
// family to a real Collector, and reads back where each point landed: a family whose id
// is a container's sits on that container's resource, whichever collector made it
// (Podman, logs, eBPF), other ids are attributes named for what they identify, and no
// pushed point carries a bare "id".
func TestEveryContainerSeriesOnItsResource(t *testing.T) {
	const id = "0123456789ab"
	c := otelcoltest.StartCollector(t)
	exp, err := NewMetricExporter(context.Background(), Config{Endpoint: c.HTTPEndpoint, Protocol: ProtocolHTTP, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	gather := func() ([]*dto.MetricFamily, error) { return catalogFamilies(id), nil }
	lookup := func(id12 string) (Container, bool) {
		return Container{ID: id12, Name: "web", Service: "rootful", PodID: "p1", PodName: "pod"}, id12 == id
	}
	p := NewMetricPusher(exp, gather, lookup, Host{ServiceName: "podexporter-test", HostName: "h"}, time.Hour, quiet())
	if err := p.Push(context.Background()); err != nil {
		t.Fatalf("push: %v", err)
	}

	want := map[string]*catalog.Metric{}
	for _, m := range catalog.All() {
		if m.OTelName != "" && slices.Contains(m.Labels, "id") {
			want[m.Name] = m
		}
	}
	if len(want) < 20 {
		t.Fatalf("only %d pushed families have an id label; the catalog walk is broken", len(want))
	}
	var points []otelcoltest.MetricPoint
	testenv.Eventually(t, 10*time.Second, "the pushed points in the Collector", func() bool {
		points = c.Metrics()
		return len(points) >= len(want)
	})
	seen := map[string]bool{}
	for _, pt := range points {
		if _, ok := pt.Attributes["id"]; ok {
			t.Errorf("%s: point carries id as an attribute: %v", pt.Name, pt.Attributes)
		}
		// OTel names are shared by families told apart by fixed attributes, so match a
		// point to its family by name and those attributes.
		for name, m := range want {
			if m.OTelName != pt.Name || !attrsInclude(pt.Attributes, m.OTelAttributes) {
				continue
			}
			seen[name] = true
			got, onContainer := pt.Resource["container.id"]
			switch {
			case m.IDOf == catalog.SubjectContainer && got != id:
				t.Errorf("%s: on resource %v, want container.id=%s", name, pt.Resource, id)
			case m.IDOf != catalog.SubjectContainer && pt.Attributes[m.IDOf.OTelIDAttribute()] != id:
				t.Errorf("%s: the %s id is not the point's %s attribute: %v", name, m.IDOf, m.IDOf.OTelIDAttribute(), pt.Attributes)
			case m.IDOf == catalog.SubjectContainer && pt.Resource["podman.service"] != "rootful" && !slices.Contains(m.Labels, "podman_service"):
				t.Errorf("%s: the container's service is lost from its resource: %v", name, pt.Resource)
			case m.IDOf != catalog.SubjectContainer && onContainer:
				t.Errorf("%s: its id is not a container's, yet it sits on container %v", name, got)
			}
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("%s: no pushed point came back", name)
		}
	}
}

func attrsInclude(have map[string]any, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

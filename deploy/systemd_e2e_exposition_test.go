//go:build systemd_e2e

package deploy

import (
	"math"
	"strconv"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// A scrape of the daemon inside the booted host, parsed with Prometheus's own parser.

// sample is one series of a scrape.
type sample struct {
	labels map[string]string
	value  float64
}

// exposition is /metrics, parsed: family name to series.
type exposition map[string][]sample

// scrapeMetrics reads the daemon's /metrics inside the systemd host.
func (e *e2e) scrapeMetrics() (exposition, error) {
	body, err := e.h.Exec("curl", "-s", "-m", "5", "http://127.0.0.1:9883/metrics")
	if err != nil {
		return nil, err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body + "\n"))
	if err != nil {
		return nil, err
	}
	s := exposition{}
	for name, f := range fams {
		for _, m := range f.Metric {
			smp := sample{labels: map[string]string{}}
			for _, l := range m.Label {
				smp.labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.Gauge != nil:
				smp.value = m.Gauge.GetValue()
			case m.Counter != nil:
				smp.value = m.Counter.GetValue()
			case m.Untyped != nil:
				smp.value = m.Untyped.GetValue()
			default:
				continue
			}
			s[name] = append(s[name], smp)
		}
	}
	return s, nil
}

// get returns the series of a family whose labels include match.
func (s exposition) get(name string, match map[string]string) []sample {
	var out []sample
	for _, smp := range s[name] {
		ok := true
		for k, v := range match {
			if smp.labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, smp)
		}
	}
	return out
}

// value is the one series of a family that matches; ok is false when none or several do.
func (s exposition) value(name string, match map[string]string) (float64, bool) {
	got := s.get(name, match)
	if len(got) != 1 {
		return math.NaN(), false
	}
	return got[0].value, true
}

// show renders a value that may be missing.
func show(v float64, ok bool) string {
	if !ok {
		return "absent"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// containerID is the id label podexporter gives a container, from its
// podman_container_info.
func (s exposition) containerID(name string) string {
	for _, smp := range s.get("podman_container_info", map[string]string{"name": name}) {
		return smp.labels["id"]
	}
	return ""
}

package collectors

import (
	"bytes"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// The streaming encoder must say what client_golang's Gather and expfmt say for the
// same series, in both exposition formats Prometheus negotiates: the same lines, one
// header per family, families sorted by name. The series are the real container
// and inventory collectors' over a synthetic snapshot, with container labels that
// need escaping.
func TestEncodeStreamMatchesGather(t *testing.T) {
	snap := syntheticSnapshot(5)
	snap.Containers[1].Labels = map[string]string{"app": "a \"quoted\" \\ value\nwith a newline"}
	snap.Containers[1].ExportedLabels = snap.Containers[1].Labels
	src := &swappable{}
	src.p.Store(snap)
	set, err := New(Deps{
		Enabled:         map[string]bool{"container": true, "pod": true, "image": true, "volume": true, "network": true, "system": true},
		ContainerLabels: []string{"app"},
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)), Podman: src,
	})
	if err != nil {
		t.Fatal(err)
	}
	formats := []expfmt.Format{
		expfmt.NewFormat(expfmt.TypeTextPlain),
		expfmt.NewFormat(expfmt.TypeOpenMetrics),
	}
	for _, f := range formats {
		t.Run(string(f), func(t *testing.T) {
			got, err := set.Encoded(f, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			fams, err := set.cache.gather()
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			enc := expfmt.NewEncoder(&want, f)
			for _, mf := range fams {
				if err := enc.Encode(mf); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Contains(got, []byte(`with a newline`)) || len(fams) < 20 {
				t.Fatalf("too little encoded to compare (%d families):\n%.300s", len(fams), got)
			}
			if g, w := sortedLines(got), sortedLines(want.Bytes()); !slices.Equal(g, w) {
				t.Fatalf("streamed lines differ from gathered ones:\n%s\n---- gathered:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
			if g, w := headerOrder(got), headerOrder(want.Bytes()); !slices.Equal(g, w) {
				t.Fatalf("family headers %v, gathered %v", g, w)
			}
		})
	}
}

// A descriptor made elsewhere than newDesc cannot be named: an error, not a guess,
// and the collecting goroutine still ends.
func TestEncodeStreamUnknownDescriptor(t *testing.T) {
	d := prometheus.NewDesc("stray_metric", "not made by newDesc", nil, nil)
	_, err := encodeStream(expfmt.NewFormat(expfmt.TypeTextPlain), func(ch chan<- prometheus.Metric) {
		for range 200 { // more than the channel holds
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, 1)
		}
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "stray_metric") {
		t.Fatalf("err = %v, want one naming stray_metric", err)
	}
}

func sortedLines(b []byte) []string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	slices.Sort(lines)
	return lines
}

// headerOrder lists the families in the order their # TYPE lines come.
func headerOrder(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "# TYPE "); ok {
			out = append(out, rest)
		}
	}
	return out
}

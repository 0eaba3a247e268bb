package collectors

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podexporter/podexporter/journald/journalstat"
	"github.com/podexporter/podexporter/podman"
)

type staticLogs struct{ s journalstat.Stats }

func (l staticLogs) Stats() journalstat.Stats { return l.s }

// FuzzContainerSeries: whatever strings a snapshot or the journal reader's counters
// hold (container names, images, ports, pod and network names, allowlisted label
// values, journal container names), a scrape neither panics nor serves text a
// Prometheus parser refuses, in both formats; a series whose values cannot be exposed
// is dropped and counted. The first seed is issue 19's crash as the collector saw
// it: a label value cut at byte 128 inside "é".
func FuzzContainerSeries(f *testing.F) {
	f.Add(strings.Repeat("A", 127)+"\xc3", "x", "localhost/busybox:test", "pod")
	f.Add("web", "n\xffame", "img", "")
	f.Add("a\"b\\c\nd", "name", "i{m}g=", "p,o d")
	f.Fuzz(func(t *testing.T, label, name, image, other string) {
		snap := syntheticSnapshot(2)
		k := &snap.Containers[0]
		k.Name, k.Image, k.PodName, k.Ports, k.NetworkMode, k.SystemdUnit = name, image, other, other, other, other
		k.ExportedLabels = map[string]string{"team": label}
		k.Health = podman.Health{Status: other}
		snap.Pods = append(snap.Pods, podman.Pod{ID: other, Name: name, State: other})
		snap.Images = append(snap.Images, podman.Image{ID: other, Repository: image, Tag: label})
		snap.Volumes = append(snap.Volumes, podman.Volume{Name: name, Driver: other, MountPoint: label})
		snap.Networks = append(snap.Networks, podman.Network{ID: other, Name: name, Labels: label})
		src := &swappable{}
		src.p.Store(snap)
		logs := staticLogs{journalstat.Stats{Containers: []journalstat.ContainerLogStats{{ID: other, Name: name, Stream: "stdout", Lines: 1}}}}
		set, err := New(Deps{
			Enabled:         map[string]bool{"container": true, "pod": true, "image": true, "volume": true, "network": true, "system": true, "podman": true, "logs": true, "hardening": true},
			ContainerLabels: []string{"team"}, NameLabel: true,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Podman: src, Logs: logs,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []expfmt.Format{expfmt.NewFormat(expfmt.TypeTextPlain), expfmt.NewFormat(expfmt.TypeOpenMetrics)} {
			cached, err := set.Encoded(f, "", nil)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if f.FormatType() != expfmt.TypeTextPlain {
				continue
			}
			parser := expfmt.NewTextParser(model.UTF8Validation)
			fams, err := parser.TextToMetricFamilies(bytes.NewReader(cached))
			if err != nil {
				t.Fatalf("served text does not parse: %v\n%.2000s", err, cached)
			}
			info := 0
			if fam := fams["podman_container_info"]; fam != nil {
				info = len(fam.Metric)
			}
			// Container 0's info series goes when one of its values is not UTF-8.
			want := 2
			for _, s := range []string{label, name, image, other} {
				if !utf8.ValidString(s) {
					want = 1
				}
			}
			if info != want {
				t.Fatalf("%d podman_container_info series, want %d", info, want)
			}
		}
		// The per-scrape collectors (uptime with the name label, the log counters).
		ch := make(chan prometheus.Metric, 1)
		go func() { set.Collect(ch); close(ch) }()
		for range ch {
		}
	})
}

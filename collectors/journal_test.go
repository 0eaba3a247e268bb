package collectors

import (
	"context"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/journald/journalstat"
)

// journalctl prints "Archived and active journals take up 16.0M in the file system."
var diskUsageLine = regexp.MustCompile(`take up ([0-9.]+)([BKMGT]?) `)

// TestJournalCollectorMatchesJournalctl compares the exported disk usage with what
// journalctl --disk-usage reports for the same journal.
func TestJournalCollectorMatchesJournalctl(t *testing.T) {
	testenv.RequireJournald(t)
	out, err := exec.Command("journalctl", "--disk-usage").Output()
	if err != nil {
		t.Fatalf("journalctl --disk-usage: %v", err)
	}
	m := diskUsageLine.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("cannot parse %q", out)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	want := v * map[string]float64{"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[m[2]]

	c, err := newJournalCollector(Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan prometheus.Metric, 16)
	if err := c.Update(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	close(ch)
	var got float64
	for metric := range ch {
		if metric.Desc() != journalUsageDesc {
			continue
		}
		var pb dto.Metric
		if err := metric.Write(&pb); err != nil {
			t.Fatal(err)
		}
		got += pb.GetGauge().GetValue()
	}
	// journalctl rounds to one decimal of its unit.
	if math.Abs(got-want) > 0.06*want {
		t.Fatalf("exported %.0f bytes across %v, journalctl says %q (%.0f)", got, journalstat.DefaultDirectories, m[0], want)
	}
}

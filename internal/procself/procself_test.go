package procself

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

// gather collects c alone and returns its families by name.
func gather(t testing.TB, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

func value(mf *dto.MetricFamily) float64 {
	m := mf.GetMetric()[0]
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// The families are client_golang's, less the network ones, with the values client_golang's
// collector reads from /proc at the same moment: it is the independent source here.
func TestSameFamiliesAsClientGolang(t *testing.T) {
	ours, err := New()
	if err != nil {
		t.Fatal(err)
	}
	got := gather(t, ours)
	want := gather(t, promcollectors.NewProcessCollector(promcollectors.ProcessCollectorOpts{ReportErrors: true}))
	delete(want, "process_network_receive_bytes_total")
	delete(want, "process_network_transmit_bytes_total")
	if len(got) != len(want) {
		t.Errorf("%d families, client_golang has %d (less the network ones)", len(got), len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if g.GetHelp() != w.GetHelp() || g.GetType() != w.GetType() {
			t.Errorf("%s: %s %q, client_golang %s %q", name, g.GetType(), g.GetHelp(), w.GetType(), w.GetHelp())
		}
		// What may move between the two reads: CPU time, memory, descriptors.
		tolerance := map[string]float64{
			"process_cpu_seconds_total":     0.2,
			"process_resident_memory_bytes": 0.2 * value(w),
			"process_virtual_memory_bytes":  0.2 * value(w),
			"process_open_fds":              2,
		}[name]
		if d := math.Abs(value(g) - value(w)); d > tolerance {
			t.Errorf("%s = %v, client_golang says %v", name, value(g), value(w))
		}
	}
}

// The descriptor count follows what the process opens, as the kernel lists them.
func TestOpenFDsFollowsTheProcess(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	before := value(gather(t, c)["process_open_fds"])
	var files []*os.File
	for range 300 { // more than one getdents buffer of names
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	after := value(gather(t, c)["process_open_fds"])
	if after-before < 300 || math.Abs(after-float64(len(entries))) > 2 {
		t.Errorf("open fds %v before, %v after opening 300; os.ReadDir lists %d", before, after, len(entries))
	}
}

func TestParseStat(t *testing.T) {
	// Fields 14, 15, 22, 23, 24 hold 14, 15, 22, 23, 24.
	fields := func(name string) string {
		var b strings.Builder
		b.WriteString("4242 (" + name + ") S")
		for f := 4; f <= 52; f++ {
			b.WriteString(" ")
			b.WriteString(strconv.Itoa(f))
		}
		return b.String() + "\n"
	}
	for _, tc := range []struct {
		name, line string
		ok         bool
	}{
		{"plain", fields("podexporter"), true},
		{"spaces and parentheses in the name", fields("a) (b c) 1 2"), true},
		{"truncated", "4242 (x) S 1 2 3\n", false},
		{"no name", "4242 x S 1 2 3\n", false},
		{"not a number", strings.Replace(fields("x"), " 23 ", " 2x3 ", 1), false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := parseStat([]byte(tc.line))
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok %v", err, tc.ok)
			}
			if tc.ok && st != (procStat{utime: 14, stime: 15, startTicks: 22, vsize: 23, rss: 24}) {
				t.Errorf("%+v", st)
			}
		})
	}
}

// A /proc root without the files fails New, naming the file.
func TestNewWithoutProc(t *testing.T) {
	root := t.TempDir()
	if _, err := newCollector(root, "self"); err == nil || !strings.Contains(err.Error(), filepath.Join(root, "self", "stat")) {
		t.Errorf("err %v", err)
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22\n"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = parseStat(b) })
}

func FuzzCountDirents(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 24, 0, 4, '.', 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) { _ = countDirents(b) })
}

// BenchmarkCollect against client_golang's process collector in the same run.
func BenchmarkCollect(b *testing.B) {
	ours, err := New()
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		c    prometheus.Collector
	}{
		{"client_golang", promcollectors.NewProcessCollector(promcollectors.ProcessCollectorOpts{})},
		{"procself", ours},
	} {
		b.Run(bc.name, func(b *testing.B) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(bc.c)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

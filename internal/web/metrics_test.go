package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podexporter/podexporter/internal/testenv"
)

// cachedPart plays collectors.Set.EncodedParts: two parts of one family each,
// encoded in whatever format is asked and compressed one member each.
func cachedPart(f expfmt.Format, compression string, compress func([]byte) ([]byte, error)) ([][]byte, error) {
	var out [][]byte
	for _, name := range []string{"cached_value", "cached_other"} {
		text := "# HELP " + name + " A cached family.\n# TYPE " + name + " gauge\n" + name + "{id=\"a\"} 1\n"
		if f.FormatType() == expfmt.TypeOpenMetrics {
			text = strings.Replace(text, "} 1\n", "} 1.0\n", 1)
		}
		b := []byte(text)
		if compression != "" {
			var err error
			if b, err = compress(b); err != nil {
				return nil, err
			}
		}
		out = append(out, b)
	}
	return out, nil
}

func TestMetricsHandlerJoinsParts(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "dynamic_value", Help: "A per-scrape family."})
	g.Set(2)
	reg.MustRegister(g)
	h := newMetricsHandler(reg, cachedPart, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))

	decode := map[string]func([]byte) ([]byte, error){
		"": func(b []byte) ([]byte, error) { return b, nil },
		"gzip": func(b []byte) ([]byte, error) {
			r, err := gzip.NewReader(bytes.NewReader(b)) // reads every member, as Prometheus does
			if err != nil {
				return nil, err
			}
			return io.ReadAll(r)
		},
		"zstd": func(b []byte) ([]byte, error) {
			d, err := zstd.NewReader(nil)
			if err != nil {
				return nil, err
			}
			return d.DecodeAll(b, nil)
		},
	}
	tests := []struct {
		name, accept, encoding string
		openMetrics            bool
	}{
		{"text", "", "", false},
		{"text gzip", "", "gzip", false},
		{"text zstd", "", "zstd", false},
		{"openmetrics", "application/openmetrics-text;version=1.0.0", "", true},
		{"openmetrics gzip", "application/openmetrics-text;version=1.0.0", "gzip", true},
		{"openmetrics zstd, gzip offered too", "application/openmetrics-text;version=1.0.0", "zstd", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			if tc.encoding == "zstd" {
				req.Header.Set("Accept-Encoding", "gzip, zstd")
			} else if tc.encoding != "" {
				req.Header.Set("Accept-Encoding", tc.encoding)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if got := w.Header().Get("Content-Encoding"); got != tc.encoding {
				t.Fatalf("Content-Encoding %q, want %q", got, tc.encoding)
			}
			body, err := decode[tc.encoding](w.Body.Bytes())
			if err != nil {
				t.Fatalf("decode %s: %v", tc.encoding, err)
			}
			// Parse it back with the format's own parser: both parts, in one valid exposition.
			if tc.openMetrics {
				if !strings.HasSuffix(string(body), "# EOF\n") {
					t.Fatalf("OpenMetrics body does not end with # EOF:\n%s", body)
				}
				if strings.Count(string(body), "# EOF") != 1 {
					t.Fatalf("more than one # EOF:\n%s", body)
				}
				return // expfmt has no OpenMetrics parser; the checks above are the contract
			}
			p := expfmt.NewTextParser(model.UTF8Validation)
			fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, body)
			}
			if fams["dynamic_value"].GetMetric()[0].GetGauge().GetValue() != 2 || fams["cached_value"].GetMetric()[0].GetGauge().GetValue() != 1 ||
				fams["cached_other"].GetMetric()[0].GetGauge().GetValue() != 1 {
				t.Fatalf("parts missing or wrong:\n%s", body)
			}
		})
	}
}

// TestOpenMetricsFamiliesOnce scrapes the handler, with client_golang's real Go and
// process collectors, the way Prometheus asks for OpenMetrics, and parses the answer
// with Prometheus's own OpenMetrics parser: every family must be described once, and
// the exposition must end with # EOF. The Go collector has the gauge
// go_memstats_alloc_bytes and the counter go_memstats_alloc_bytes_total, whose
// OpenMetrics family is go_memstats_alloc_bytes too (client_golang#829).
func TestOpenMetricsFamiliesOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := newMetricsHandler(reg, cachedPart, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	scrape := func(accept string) string {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		return w.Body.String()
	}

	body := scrape("application/openmetrics-text; version=1.0.0")
	if !strings.HasSuffix(body, "\n# EOF\n") {
		t.Errorf("the OpenMetrics exposition does not end with # EOF:\n%s", body[max(0, len(body)-200):])
	}
	types, helps := testenv.OpenMetricsFamilies(t, []byte(body))
	for name, n := range types {
		if n != 1 || helps[name] != 1 {
			t.Errorf("family %s described %d times (# TYPE) and %d times (# HELP), want once", name, n, helps[name])
		}
	}
	for _, want := range []string{"go_memstats_alloc_bytes", "go_goroutines", "process_cpu_seconds", "cached_value"} {
		if types[want] != 1 {
			t.Errorf("family %s missing from the OpenMetrics exposition", want)
		}
	}

	// The text format has no such clash: both families stay.
	text := scrape("")
	for _, want := range []string{"\n# TYPE go_memstats_alloc_bytes gauge\n", "\n# TYPE go_memstats_alloc_bytes_total counter\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("text format lacks %q", strings.TrimSpace(want))
		}
	}
}

func TestNegotiateEncoding(t *testing.T) {
	for accept, want := range map[string]string{
		"":                       "",
		"gzip":                   "gzip",
		"gzip, deflate, br":      "gzip",
		"zstd;q=1.0, gzip;q=0.5": "zstd",
		"gzip;q=0, identity":     "",
		"ZSTD":                   "zstd",
		"identity, gzip;q=0.1":   "gzip",
		"deflate":                "",
	} {
		if got := negotiateEncoding(accept); got != want {
			t.Errorf("negotiateEncoding(%q) = %q, want %q", accept, got, want)
		}
	}
}

// blockingGatherer holds every Gather until released, as a slow scrape does.
type blockingGatherer struct {
	entered chan struct{}
	release chan struct{}
}

func (g blockingGatherer) Gather() ([]*dto.MetricFamily, error) {
	g.entered <- struct{}{}
	<-g.release
	return nil, nil
}

func TestMetricsInFlightLimit(t *testing.T) {
	g := blockingGatherer{entered: make(chan struct{}), release: make(chan struct{})}
	h := newMetricsHandler(g, cachedPart, 2, slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan int, 2)
	for range 2 {
		go func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			done <- rec.Code
		}()
		<-g.entered
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("third concurrent scrape: status %d, want 503", rec.Code)
	}
	close(g.release)
	for range 2 {
		if code := <-done; code != http.StatusOK {
			t.Errorf("scrape within the limit: status %d", code)
		}
	}
}

func TestLimitRequests(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	h := limitRequests(ok)
	tests := []struct {
		name   string
		method string
		body   io.Reader
		chunk  bool
		want   int
	}{
		{"GET", http.MethodGet, nil, false, http.StatusOK},
		{"HEAD", http.MethodHead, nil, false, http.StatusOK},
		{"POST", http.MethodPost, nil, false, http.StatusMethodNotAllowed},
		{"PUT with a body", http.MethodPut, strings.NewReader("x"), false, http.StatusMethodNotAllowed},
		{"GET with a body", http.MethodGet, strings.NewReader(strings.Repeat("x", 1<<20)), false, http.StatusRequestEntityTooLarge},
		{"GET with a chunked body", http.MethodGet, strings.NewReader("x"), true, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/metrics", tc.body)
			if tc.chunk {
				req.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
		})
	}
}

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
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// cachedPart plays collectors.Set.Encoded: one family, encoded in whatever format is asked.
func cachedPart(f expfmt.Format, compression string, compress func([]byte) ([]byte, error)) ([]byte, error) {
	var text string
	if f.FormatType() == expfmt.TypeOpenMetrics {
		text = "# HELP cached_value A cached family.\n# TYPE cached_value gauge\ncached_value{id=\"a\"} 1.0\n"
	} else {
		text = "# HELP cached_value A cached family.\n# TYPE cached_value gauge\ncached_value{id=\"a\"} 1\n"
	}
	if compression == "" {
		return []byte(text), nil
	}
	return compress([]byte(text))
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
			if fams["dynamic_value"].GetMetric()[0].GetGauge().GetValue() != 2 || fams["cached_value"].GetMetric()[0].GetGauge().GetValue() != 1 {
				t.Fatalf("parts missing or wrong:\n%s", body)
			}
		})
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

// Package web serves the Prometheus endpoint: exporter-toolkit for TLS, client
// certificates and basic auth, a landing page, /metrics, /healthz and /readyz.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	// Registers zstd with promhttp: scrapers that ask for it save most of the bytes.
	_ "github.com/prometheus/client_golang/prometheus/promhttp/zstd"
	"github.com/prometheus/exporter-toolkit/web"
)

// Options configures the handler.
type Options struct {
	TelemetryPath string
	Gatherer      prometheus.Gatherer
	// Registerer receives promhttp's own request metrics; nil leaves them out.
	Registerer  prometheus.Registerer
	MaxRequests int
	// Pending lists sources not yet started; /readyz is 200 only when it is empty.
	Pending func() []string
	// Encoded, when set, supplies pre-encoded series appended to every scrape.
	Encoded Encoded
	Version string
	Logger  *slog.Logger
}

// NewHandler builds the routes. A scrape only reads what the sources already hold, so
// the timeout guards against a stuck client rather than slow collection.
func NewHandler(o Options) (http.Handler, error) {
	mux := http.NewServeMux()
	var metrics http.Handler
	if o.Encoded != nil {
		metrics = newMetricsHandler(o.Gatherer, o.Encoded, o.MaxRequests, o.Logger)
	} else {
		metrics = promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{
			ErrorLog:            scrapeErrorLog{o.Logger},
			ErrorHandling:       promhttp.ContinueOnError,
			MaxRequestsInFlight: o.MaxRequests,
			Timeout:             30 * time.Second,
			EnableOpenMetrics:   true,
			OfferedCompressions: []promhttp.Compression{promhttp.Identity, promhttp.Gzip, promhttp.Zstd},
		})
	}
	if o.Registerer != nil {
		metrics = promhttp.InstrumentMetricHandler(o.Registerer, metrics)
	}
	mux.Handle(o.TelemetryPath, metrics)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if p := o.Pending(); len(p) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: waiting for %s\n", strings.Join(p, ", "))
			return
		}
		fmt.Fprintln(w, "ready")
	})
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "podexporter",
		Description: "Prometheus and OTLP exporter for Podman hosts",
		Version:     o.Version,
		Links: []web.LandingLinks{
			{Address: o.TelemetryPath, Text: "Metrics"},
			{Address: "/healthz", Text: "Health"},
			{Address: "/readyz", Text: "Readiness"},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("landing page: %w", err)
	}
	mux.Handle("/", landing)
	return limitRequests(mux), nil
}

// limitRequests refuses what no scraper or health check sends: methods other than
// GET and HEAD, and request bodies. Headers are bounded by the server
// (MaxHeaderBytes), concurrent scrapes by --web.max-requests.
func limitRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "only GET and HEAD are served", http.StatusMethodNotAllowed)
			return
		}
		if r.ContentLength != 0 {
			// -1 (chunked) too. Closing spares reading a body nobody asked for.
			w.Header().Set("Connection", "close")
			http.Error(w, "request bodies are not accepted", http.StatusRequestEntityTooLarge)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// scrapeErrorLog keeps promhttp's errors but drops those a scraper causes by hanging
// up mid-response: promhttp reports one per metric family, a flood per disconnect.
type scrapeErrorLog struct{ logger *slog.Logger }

func (l scrapeErrorLog) Println(v ...any) {
	msg := fmt.Sprint(v...)
	for _, gone := range []string{"context canceled", "broken pipe", "connection reset by peer"} {
		if strings.Contains(msg, gone) {
			l.logger.Debug("scraper went away mid-response", "err", msg)
			return
		}
	}
	l.logger.Error("serving metrics failed", "err", msg)
}

// maxHeaderBytes bounds a request's header: a scraper's is well under 1 KiB.
const maxHeaderBytes = 64 << 10

// Listen opens the listeners before anything is announced, so READY=1 is only sent
// once a scraper can connect.
func Listen(fc *web.FlagConfig) ([]net.Listener, error) {
	if *fc.WebSystemdSocket {
		ls, err := activation.Listeners()
		if err != nil {
			return nil, fmt.Errorf("systemd socket activation: %w", err)
		}
		if len(ls) == 0 {
			return nil, errors.New("systemd socket activation: no sockets passed (is the .socket unit active?)")
		}
		return ls, nil
	}
	var ls []net.Listener
	for _, addr := range *fc.WebListenAddresses {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, o := range ls {
				o.Close()
			}
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// Serve serves on the listeners until ctx ends, then shuts down gracefully within
// grace. It returns the first serve error other than the one shutdown causes.
func Serve(ctx context.Context, ls []net.Listener, h http.Handler, fc *web.FlagConfig, grace time.Duration, logger *slog.Logger) error {
	errc := make(chan error, len(ls))
	servers := make([]*http.Server, len(ls))
	for i, l := range ls {
		// One server per listener: exporter-toolkit wraps server.Handler in place, so
		// sharing one server would wrap it once per listener.
		servers[i] = &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			// Longer than promhttp's 30 s gathering deadline, so a slow scrape
			// still gets its error page.
			WriteTimeout:   60 * time.Second,
			IdleTimeout:    2 * time.Minute,
			MaxHeaderBytes: maxHeaderBytes,
		}
		go func() { errc <- web.Serve(l, servers[i], fc, logger) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for _, s := range servers {
		if e := s.Shutdown(sctx); e != nil && err == nil {
			err = fmt.Errorf("http shutdown: %w", e)
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

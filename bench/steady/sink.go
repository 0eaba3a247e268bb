package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// latencyBuckets is the histogram's resolution: 1 ms buckets up to 60 s; later lines
// land in the last bucket. A live pipeline that holds a line a minute has failed the
// benchmark long before its percentiles matter.
const latencyBuckets = 60_000

// sinkState is what the sink counted since its last reset.
type sinkState struct {
	since    time.Time
	requests int64
	bytes    int64 // request bodies as sent (compressed)
	records  int64
	ours     int64 // records that steady write wrote (first pieces of split lines)
	dups     int64 // of ours, sequence numbers seen before since the reset
	byName   map[string]int64
	// seen is a bit set of sequence numbers per writer: a shipper that repeats a line
	// shows up here, and a head-of-journal run is complete once every writer's count
	// reaches what it wrote.
	seen    map[string][]uint64
	latency []int64 // ms buckets of now minus the time the writer wrote the line
	maxLat  time.Duration
}

func newSinkState() *sinkState {
	return &sinkState{since: time.Now(), byName: map[string]int64{}, seen: map[string][]uint64{}, latency: make([]int64, latencyBuckets)}
}

type sink struct {
	mu  sync.Mutex
	st  *sinkState
	zst *zstd.Decoder
}

// runSink serves OTLP/HTTP (protobuf, gzip, zstd or none) on -listen: /v1/logs counts,
// /v1/metrics accepts and drops, GET /stats reports, POST /reset starts a new window.
func runSink(args []string) error {
	fs := flag.NewFlagSet("sink", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:4318", "address to serve OTLP/HTTP on")
	_ = fs.Parse(args)
	zd, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	s := &sink{st: newSinkState(), zst: zd}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/logs", s.logs)
	mux.HandleFunc("/v1/metrics", s.drop)
	mux.HandleFunc("/v1/traces", s.drop)
	mux.HandleFunc("/stats", s.stats)
	mux.HandleFunc("/reset", s.reset)
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}

// body reads a request body, undoing its Content-Encoding.
func (s *sink) body(r *http.Request) ([]byte, int, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, 0, err
	}
	switch r.Header.Get("Content-Encoding") {
	case "", "identity":
		return raw, len(raw), nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, 0, err
		}
		b, err := io.ReadAll(zr)
		return b, len(raw), err
	case "zstd":
		b, err := s.zst.DecodeAll(raw, nil)
		return b, len(raw), err
	default:
		return nil, 0, fmt.Errorf("content encoding %q", r.Header.Get("Content-Encoding"))
	}
}

// ok answers as an OTLP/HTTP receiver does: 200 with an empty protobuf response.
func ok(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func (s *sink) drop(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	ok(w)
}

func (s *sink) logs(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		http.Error(w, "protobuf only, not "+ct, http.StatusUnsupportedMediaType)
		return
	}
	b, wire, err := s.body(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req collogs.ExportLogsServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now()
	s.mu.Lock()
	st := s.st
	st.requests++
	st.bytes += int64(wire)
	for _, rl := range req.ResourceLogs {
		resName := attr(rl.GetResource().GetAttributes(), "container.name")
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				st.records++
				msg, name := message(lr.Body)
				if name == "" {
					name = attr(lr.Attributes, "container.name")
				}
				if name == "" {
					name = resName
				}
				st.byName[name]++
				st.count(msg, now)
			}
		}
	}
	s.mu.Unlock()
	ok(w)
}

// count records one of steady write's lines: "steady w=NAME seq=N t=UNIXNANO ...".
func (st *sinkState) count(msg string, now time.Time) {
	rest, found := strings.CutPrefix(msg, "steady w=")
	if !found {
		return
	}
	writer, rest, _ := strings.Cut(rest, " seq=")
	seqText, rest, _ := strings.Cut(rest, " t=")
	tText, _, _ := strings.Cut(rest, " ")
	seq, err1 := strconv.ParseUint(seqText, 10, 64)
	t, err2 := strconv.ParseInt(tText, 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	st.ours++
	bits := st.seen[writer]
	word := int(seq / 64)
	for len(bits) <= word {
		bits = append(bits, 0)
	}
	if bits[word]&(1<<(seq%64)) != 0 {
		st.dups++
	}
	bits[word] |= 1 << (seq % 64)
	st.seen[writer] = bits
	lat := now.Sub(time.Unix(0, t))
	st.maxLat = max(st.maxLat, lat)
	st.latency[min(max(int(lat/time.Millisecond), 0), latencyBuckets-1)]++
}

// message returns the line and the container name a record carries: a string body
// (podexporter), or the journal entry as a map (the Collector's journald receiver,
// whose MESSAGE and CONTAINER_NAME are keys of the body).
func message(body *commonpb.AnyValue) (msg, name string) {
	switch v := body.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return v.StringValue, ""
	case *commonpb.AnyValue_KvlistValue:
		for _, kv := range v.KvlistValue.GetValues() {
			switch kv.Key {
			case "MESSAGE":
				msg = kv.Value.GetStringValue()
			case "CONTAINER_NAME":
				name = kv.Value.GetStringValue()
			}
		}
	}
	return msg, name
}

func attr(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value.GetStringValue()
		}
	}
	return ""
}

// stats is what GET /stats answers.
type stats struct {
	Seconds  float64          `json:"seconds"`
	Requests int64            `json:"requests"`
	Bytes    int64            `json:"bytes"`
	Records  int64            `json:"records"`
	Ours     int64            `json:"ours"`
	Dups     int64            `json:"dups"`
	P50ms    float64          `json:"p50_ms"`
	P99ms    float64          `json:"p99_ms"`
	MaxMs    float64          `json:"max_ms"`
	ByName   map[string]int64 `json:"by_name"`
	Writers  map[string]int64 `json:"writers"` // distinct sequence numbers per writer
}

func (s *sink) stats(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	st := s.st
	out := stats{
		Seconds: time.Since(st.since).Seconds(), Requests: st.requests, Bytes: st.bytes,
		Records: st.records, Ours: st.ours, Dups: st.dups,
		P50ms: quantile(st.latency, 0.50), P99ms: quantile(st.latency, 0.99),
		MaxMs: float64(st.maxLat) / 1e6, ByName: map[string]int64{}, Writers: map[string]int64{},
	}
	for k, v := range st.byName {
		out.ByName[k] = v
	}
	for k, bits := range st.seen {
		n := 0
		for _, b := range bits {
			for ; b != 0; b &= b - 1 {
				n++
			}
		}
		out.Writers[k] = int64(n)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *sink) reset(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	s.st = newSinkState()
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// quantile is the q quantile of the histogram in ms (the bucket's upper edge), or -1
// with nothing counted (JSON has no NaN).
func quantile(h []int64, q float64) float64 {
	var total int64
	for _, n := range h {
		total += n
	}
	if total == 0 {
		return -1
	}
	rank := int64(math.Ceil(q * float64(total)))
	var acc int64
	for i, n := range h {
		if acc += n; acc >= rank {
			return float64(i + 1)
		}
	}
	return float64(len(h))
}

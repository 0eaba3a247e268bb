package collectors

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// familyHead is what a descriptor says about its family; prometheus.Desc keeps it
// private, so newDesc remembers it for the streaming encoder.
type familyHead struct{ name, help string }

var familyHeads sync.Map // *prometheus.Desc -> familyHead

// newDesc is prometheus.NewDesc for every family the collectors emit, remembering its
// name and help.
func newDesc(name, help string, labels []string) *prometheus.Desc {
	d := prometheus.NewDesc(name, help, labels, nil)
	familyHeads.Store(d, familyHead{name, help})
	return d
}

// encodeStream writes the metrics collect sends in format f, grouped into families
// sorted by name, without gathering them first: each series is encoded as it arrives
// and only text is kept. Gathering would hold every series as protobuf values at once
// (about 25 KB per container, all of it garbage right after), and that burst, not
// what is cached, would set the heap's size.
//
// sizes, when not nil, holds each family's encoded size from the previous call and is
// updated: buffers start at that size rather than growing to it by doubling.
func encodeStream(f expfmt.Format, collect func(chan<- prometheus.Metric), sizes map[string]int) ([]byte, error) {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		defer close(ch)
		collect(ch)
	}()
	fams := map[string]*bytes.Buffer{}
	var (
		m       dto.Metric
		mf      = dto.MetricFamily{Metric: []*dto.Metric{&m}}
		scratch bytes.Buffer
		err     error
	)
	encode := familyEncoder(&scratch, f)
	for metric := range ch {
		if err != nil {
			continue // drain, so the collecting goroutine ends
		}
		var head familyHead
		if hm, ok := metric.(headedMetric); ok {
			head = hm.head
		} else if h, ok := familyHeads.Load(metric.Desc()); ok {
			head = h.(familyHead)
		} else {
			err = fmt.Errorf("encode %s: descriptor not made by newDesc", metric.Desc())
			continue
		}
		m.Reset()
		if werr := metric.Write(&m); werr != nil {
			err = fmt.Errorf("encode %s: %w", head.name, werr)
			continue
		}
		mf.Name, mf.Help, mf.Type = &head.name, &head.help, metricType(&m)
		scratch.Reset()
		if eerr := encode(&mf); eerr != nil {
			err = fmt.Errorf("encode %s: %w", head.name, eerr)
			continue
		}
		out := scratch.Bytes()
		buf, seen := fams[head.name]
		if !seen {
			buf = bytes.NewBuffer(make([]byte, 0, sizes[head.name]))
			fams[head.name] = buf
		} else {
			out = withoutHeader(out)
		}
		buf.Write(out)
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(fams))
	size := 0
	for name, b := range fams {
		names = append(names, name)
		size += b.Len()
		if sizes != nil {
			sizes[name] = b.Len() + b.Len()/16
		}
	}
	slices.Sort(names)
	all := make([]byte, 0, size)
	for _, name := range names {
		all = append(all, fams[name].Bytes()...)
	}
	return all, nil
}

// withoutHeader drops the # HELP, # TYPE and # UNIT lines a one-series family starts with.
func withoutHeader(b []byte) []byte {
	for bytes.HasPrefix(b, []byte("# ")) {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return nil
		}
		b = b[i+1:]
	}
	return b
}

var (
	counterType = dto.MetricType_COUNTER
	gaugeType   = dto.MetricType_GAUGE
	untypedType = dto.MetricType_UNTYPED
)

func metricType(m *dto.Metric) *dto.MetricType {
	switch {
	case m.Counter != nil:
		return &counterType
	case m.Gauge != nil:
		return &gaugeType
	}
	return &untypedType
}

// familyEncoder writes one family in format f. For the formats Prometheus scrapes it
// calls expfmt's writers directly: the encoder would first copy every family to
// escape names, and catalog names need no escaping (the test compares both ways).
func familyEncoder(w io.Writer, f expfmt.Format) func(*dto.MetricFamily) error {
	switch f.FormatType() {
	case expfmt.TypeTextPlain:
		return func(mf *dto.MetricFamily) error {
			_, err := expfmt.MetricFamilyToText(w, mf)
			return err
		}
	case expfmt.TypeOpenMetrics:
		if _, params, err := mime.ParseMediaType(string(f)); err == nil && !strings.HasPrefix(params["version"], "2") {
			return func(mf *dto.MetricFamily) error {
				_, err := expfmt.MetricFamilyToOpenMetrics(w, mf)
				return err
			}
		}
	}
	return expfmt.NewEncoder(w, f).Encode
}

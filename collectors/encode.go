package collectors

import (
	"bytes"
	"fmt"
	"slices"
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
func encodeStream(f expfmt.Format, collect func(chan<- prometheus.Metric)) ([]byte, error) {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		defer close(ch)
		collect(ch)
	}()
	fams := map[string]*bytes.Buffer{}
	var (
		m       dto.Metric
		one     = []*dto.Metric{&m}
		scratch bytes.Buffer
		err     error
	)
	enc := expfmt.NewEncoder(&scratch, f)
	for metric := range ch {
		if err != nil {
			continue // drain, so the collecting goroutine ends
		}
		h, ok := familyHeads.Load(metric.Desc())
		if !ok {
			err = fmt.Errorf("encode %s: descriptor not made by newDesc", metric.Desc())
			continue
		}
		head := h.(familyHead)
		m.Reset()
		if werr := metric.Write(&m); werr != nil {
			err = fmt.Errorf("encode %s: %w", head.name, werr)
			continue
		}
		mf := dto.MetricFamily{Name: &head.name, Help: &head.help, Type: metricType(&m), Metric: one}
		scratch.Reset()
		if eerr := enc.Encode(&mf); eerr != nil {
			err = fmt.Errorf("encode %s: %w", head.name, eerr)
			continue
		}
		out := scratch.Bytes()
		buf, seen := fams[head.name]
		if !seen {
			buf = &bytes.Buffer{}
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

func metricType(m *dto.Metric) *dto.MetricType {
	t := dto.MetricType_UNTYPED
	switch {
	case m.Counter != nil:
		t = dto.MetricType_COUNTER
	case m.Gauge != nil:
		t = dto.MetricType_GAUGE
	}
	return &t
}

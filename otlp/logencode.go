package otlp

import (
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/podexporter/podexporter/logrecord"
)

// Field numbers of opentelemetry/proto/logs/v1/logs.proto and its collector request.
const (
	requestResourceLogs protowire.Number = 1
	// ResourceLogs
	rlResource, rlScopeLogs protowire.Number = 1, 2
	// Resource and InstrumentationScope
	resourceAttributes, scopeName protowire.Number = 1, 1
	// ScopeLogs
	slScope, slLogRecords protowire.Number = 1, 2
	// LogRecord
	lrTime, lrSeverityNumber, lrSeverityText, lrBody, lrAttributes, lrDroppedAttributes,
	lrFlags, lrTraceID, lrSpanID, lrObservedTime, lrEventName protowire.Number = 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12
)

// maxAttributes bounds a record's attributes, as the SDK's default limit did: a line
// with thousands of fields would otherwise make a record no receiver wants. The
// line's own fields are what is dropped (and counted), never podexporter's.
const maxAttributes = 128

// encodedResource is a resource's Resource message, encoded once and kept: a
// container's resource is the same for every line it writes.
type encodedResource struct {
	msg []byte
	// group and n place the resource's records in the batch being encoded.
	group, n int
}

// logEncoder turns batches into ExportLogsServiceRequest messages. It is not safe for
// concurrent use; LogSink holds its lock while encoding.
type logEncoder struct {
	host      Host
	resources map[providerKey]*encodedResource
	// Scratch, kept between batches: each record's resource, the resources in this
	// batch in order of first sight, the order records are written in (grouped by
	// resource) and a record's attributes.
	of     []*encodedResource
	groups []*encodedResource
	order  []int
	attrs  []attribute.KeyValue
	seen   map[attribute.Key]int
}

func newLogEncoder(host Host) *logEncoder {
	return &logEncoder{host: host, resources: map[providerKey]*encodedResource{}}
}

// newResource encodes and keeps the resource of key: the host's with c's attributes
// (if any) and more.
func (e *logEncoder) newResource(key providerKey, c *Container, more ...attribute.KeyValue) *encodedResource {
	if len(e.resources) >= maxProviders {
		clear(e.resources)
	}
	var w wire
	// newResource drops duplicate keys, the last winning, and sorts them.
	for _, kv := range e.host.newResource(c, more...).Attributes() {
		w.keyValue(resourceAttributes, kv)
	}
	r := &encodedResource{msg: w.b}
	e.resources[key] = r
	return r
}

// recordResource is the resource of a journal record: its container's, its unit's,
// its service's (host records) or the host's. The cache is looked up first, so a
// resource's description is built once, not per record.
func (e *logEncoder) recordResource(r *logrecord.Record) *encodedResource {
	key := providerKey{kind: 'h'}
	switch {
	case r.ContainerIDFull != "":
		key = providerKey{'c', r.ContainerIDFull}
	case r.ContainerID != "":
		key = providerKey{'c', r.ContainerID}
	case r.Host != nil:
		key = hostKey(r)
	case r.Unit != "":
		key = providerKey{'u', r.Unit}
	}
	if res, ok := e.resources[key]; ok {
		return res
	}
	switch key.kind {
	case 'c':
		return e.newResource(key, &Container{ID: key.name, Name: r.ContainerName, Image: r.Image, PodID: r.PodID, PodName: r.PodName, Labels: r.Labels})
	case 'u':
		return e.newResource(key, nil, attribute.String("systemd.unit", text(key.name)))
	case 's':
		return e.newResource(key, nil, hostResource(key.name)...)
	}
	return e.newResource(key, nil)
}

// encode appends to buf one request holding n records, grouped by resource(i), each
// written by record(w, i), and returns it.
func (e *logEncoder) encode(buf []byte, n int, resource func(i int) *encodedResource, record func(w *wire, i int)) []byte {
	e.of, e.groups = e.of[:0], e.groups[:0]
	for i := range n {
		r := resource(i)
		if r.n == 0 {
			r.group = len(e.groups)
			e.groups = append(e.groups, r)
		}
		r.n++
		e.of = append(e.of, r)
	}
	// Records in order within each resource: a counting sort by group.
	if cap(e.order) < n {
		e.order = make([]int, n)
	}
	e.order = e.order[:n]
	next := make([]int, len(e.groups)+1)
	for g, r := range e.groups {
		next[g+1] = next[g] + r.n
	}
	for i, r := range e.of {
		e.order[next[r.group]] = i
		next[r.group]++
	}
	w := wire{b: buf}
	start := 0
	for _, r := range e.groups {
		rl := w.begin(requestResourceLogs)
		res := w.begin(rlResource)
		w.b = append(w.b, r.msg...)
		w.end(res)
		sl := w.begin(rlScopeLogs)
		sc := w.begin(slScope)
		w.str(scopeName, scope)
		w.end(sc)
		for _, i := range e.order[start : start+r.n] {
			lr := w.begin(slLogRecords)
			record(&w, i)
			w.end(lr)
		}
		w.end(sl)
		w.end(rl)
		start += r.n
		r.n = 0
	}
	clear(e.of)
	clear(e.groups)
	return w.b
}

// encodeRecords appends the request for a batch of journal records to buf.
func (e *logEncoder) encodeRecords(buf []byte, recs []logrecord.Record) []byte {
	return e.encode(buf, len(recs), func(i int) *encodedResource { return e.recordResource(&recs[i]) },
		func(w *wire, i int) { e.record(w, &recs[i]) })
}

// record writes one journal record's LogRecord fields.
func (e *logEncoder) record(w *wire, r *logrecord.Record) {
	w.time(lrTime, r.Time)
	w.time(lrObservedTime, r.Observed)
	if r.Severity != 0 {
		w.varint(lrSeverityNumber, uint64(r.Severity))
	}
	if st := r.SeverityText(); st != "" {
		w.str(lrSeverityText, st)
	}
	if r.Parsed != nil && r.Parsed.Object != nil {
		w.anyValue(lrBody, objectValue(r.Parsed.Object))
	} else {
		// OTLP strings must be UTF-8; a line that is not goes as bytes, unchanged.
		body := w.begin(lrBody)
		w.strOrBytes(anyString, anyBytes, r.Body)
		w.end(body)
	}

	attrs := e.attrs[:0]
	own := 0 // the line's own fields, first in attrs
	if r.Parsed != nil {
		for _, f := range r.Parsed.Fields {
			attrs = append(attrs, attribute.KeyValue{Key: attribute.Key(text(f.Key)), Value: fieldValue(f.Value)})
		}
		own = len(attrs)
	}
	attrs = append(attrs, attribute.String("log.record.uid", r.Cursor))
	if r.Stream != "" {
		attrs = append(attrs, attribute.String("log.iostream", r.Stream))
	}
	if r.QuadletUnit != "" {
		attrs = append(attrs, attribute.String("podman.quadlet.unit", r.QuadletUnit))
	}
	if r.ContainerTag != "" {
		attrs = append(attrs, attribute.String("container.tag", r.ContainerTag))
	}
	if r.Truncated {
		attrs = append(attrs, attribute.Bool("log.truncated", true))
	}
	if r.Lines > 1 {
		attrs = append(attrs, attribute.Int("log.lines", r.Lines))
	}
	if r.Host != nil {
		attrs = hostAttributes(attrs, r)
	}
	for k, v := range r.Extra {
		key := attribute.Key(text("journald." + k))
		if utf8.ValidString(v) {
			attrs = append(attrs, attribute.String(string(key), v))
		} else {
			attrs = append(attrs, attribute.KeyValue{Key: key, Value: attribute.ByteSliceValue([]byte(v))})
		}
	}
	full := attrs
	dropped := 0
	if own > 0 || len(r.Extra) > 0 {
		// Keys may repeat only where a line or the journal chose them; the last
		// wins, so ours (after the line's fields) win over a field of the same name.
		attrs, own = e.dedupe(attrs, own)
		if len(attrs) > maxAttributes && own > 0 {
			dropped = min(len(attrs)-maxAttributes, own)
			attrs = append(attrs[:own-dropped], attrs[own:]...)
		}
	}
	for _, kv := range attrs {
		w.keyValue(lrAttributes, kv)
	}
	if dropped > 0 {
		w.varint(lrDroppedAttributes, uint64(dropped))
	}
	clear(full)
	e.attrs = full[:0]

	if p := r.Parsed; p != nil && p.TraceID != ([16]byte{}) {
		// A line may give its trace id without a span id; each is sent when set.
		if p.TraceFlags != 0 {
			w.fixed32(lrFlags, uint32(p.TraceFlags))
		}
		w.b = protowire.AppendTag(w.b, lrTraceID, protowire.BytesType)
		w.b = protowire.AppendBytes(w.b, p.TraceID[:])
		if p.SpanID != ([8]byte{}) {
			w.b = protowire.AppendTag(w.b, lrSpanID, protowire.BytesType)
			w.b = protowire.AppendBytes(w.b, p.SpanID[:])
		}
	}
}

// dedupe drops every attribute whose key comes again later in attrs, keeping the
// order of the rest, and returns them with how many of the first own remain.
func (e *logEncoder) dedupe(attrs []attribute.KeyValue, own int) ([]attribute.KeyValue, int) {
	if e.seen == nil {
		e.seen = map[attribute.Key]int{}
	}
	for i, kv := range attrs {
		e.seen[kv.Key] = i
	}
	out := attrs[:0]
	kept := 0
	for i, kv := range attrs {
		if e.seen[kv.Key] != i {
			continue
		}
		if i < own {
			kept++
		}
		out = append(out, kv)
	}
	if len(e.seen) > 4*maxAttributes {
		// A line with thousands of fields should not keep its map's size.
		e.seen = nil
	} else {
		clear(e.seen)
	}
	return out, kept
}

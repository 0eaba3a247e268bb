package otlp

import (
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/protobuf/encoding/protowire"
)

// wire appends protobuf to b. The log path encodes its requests itself, straight
// from the journal's records: through the SDK, each line became a log.Record, an
// SDK record, a protobuf struct tree and then bytes, two thirds of the daemon's
// allocations.
type wire struct{ b []byte }

// begin starts a length-delimited field and returns where its content starts; end
// closes it. The length is written as one byte and widened, moving the content, when
// the content is longer: most fields nested in a record are short.
func (w *wire) begin(field protowire.Number) int {
	w.b = protowire.AppendTag(w.b, field, protowire.BytesType)
	w.b = append(w.b, 0)
	return len(w.b)
}

func (w *wire) end(start int) {
	n := len(w.b) - start
	if n < 0x80 {
		w.b[start-1] = byte(n)
		return
	}
	extra := protowire.SizeVarint(uint64(n)) - 1
	w.b = slices.Grow(w.b, extra)[:len(w.b)+extra]
	copy(w.b[start+extra:], w.b[start:start+n])
	protowire.AppendVarint(w.b[:start-1], uint64(n))
}

// str writes s as a string field, made valid UTF-8 (text): protobuf refuses a
// string that is not, and with it the whole request.
func (w *wire) str(field protowire.Number, s string) {
	w.b = protowire.AppendTag(w.b, field, protowire.BytesType)
	w.b = protowire.AppendString(w.b, text(s))
}

// strOrBytes writes s as a string field, or as the bytes field bytesField when it is
// not valid UTF-8: a journal message is kept byte for byte.
func (w *wire) strOrBytes(field, bytesField protowire.Number, s string) {
	if !utf8.ValidString(s) {
		field = bytesField
	}
	w.b = protowire.AppendTag(w.b, field, protowire.BytesType)
	w.b = protowire.AppendString(w.b, s)
}

func (w *wire) varint(field protowire.Number, v uint64) {
	w.b = protowire.AppendTag(w.b, field, protowire.VarintType)
	w.b = protowire.AppendVarint(w.b, v)
}

func (w *wire) fixed64(field protowire.Number, v uint64) {
	w.b = protowire.AppendTag(w.b, field, protowire.Fixed64Type)
	w.b = protowire.AppendFixed64(w.b, v)
}

func (w *wire) fixed32(field protowire.Number, v uint32) {
	w.b = protowire.AppendTag(w.b, field, protowire.Fixed32Type)
	w.b = protowire.AppendFixed32(w.b, v)
}

// time writes t in nanoseconds since the epoch, nothing for the zero time (as the
// SDK did: 0 means unknown).
func (w *wire) time(field protowire.Number, t time.Time) {
	if t.IsZero() {
		return
	}
	if n := t.UnixNano(); n > 0 {
		w.fixed64(field, uint64(n))
	}
}

// Field numbers of opentelemetry/proto/common/v1/common.proto.
const (
	anyString, anyBool, anyInt, anyDouble, anyArray, anyKvlist, anyBytes protowire.Number = 1, 2, 3, 4, 5, 6, 7
	kvKey, kvValue                                                       protowire.Number = 1, 2
	// ArrayValue.values and KeyValueList.values.
	listValues protowire.Number = 1
)

// keyValue writes a KeyValue message as field.
func (w *wire) keyValue(field protowire.Number, kv attribute.KeyValue) {
	at := w.begin(field)
	w.str(kvKey, string(kv.Key))
	w.anyValue(kvValue, kv.Value)
	w.end(at)
}

// anyValue writes v as an AnyValue message; an empty value (JSON null) is an empty
// message. Nesting is bounded by its source: logparse stops at 64 levels.
func (w *wire) anyValue(field protowire.Number, v attribute.Value) {
	at := w.begin(field)
	switch v.Type() {
	case attribute.STRING:
		w.str(anyString, v.AsString())
	case attribute.BOOL:
		w.varint(anyBool, protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		w.varint(anyInt, uint64(v.AsInt64()))
	case attribute.FLOAT64:
		w.b = protowire.AppendTag(w.b, anyDouble, protowire.Fixed64Type)
		w.b = protowire.AppendFixed64(w.b, math.Float64bits(v.AsFloat64()))
	case attribute.BYTESLICE:
		w.b = protowire.AppendTag(w.b, anyBytes, protowire.BytesType)
		w.b = protowire.AppendBytes(w.b, v.AsByteSlice())
	case attribute.SLICE:
		// The typed slices (STRINGSLICE, ...) are never made here: a line's arrays
		// are SLICE (fieldValue), resources and our attributes hold scalars.
		arr := w.begin(anyArray)
		for _, e := range v.AsSlice() {
			w.anyValue(listValues, e)
		}
		w.end(arr)
	case attribute.MAP:
		m := w.begin(anyKvlist)
		for _, kv := range v.AsMap() {
			w.keyValue(listValues, kv)
		}
		w.end(m)
	}
	w.end(at)
}

package otlp

import (
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"

	"github.com/podexporter/podexporter/journald/logparse"
)

// fieldValue maps a parsed log field onto an OTLP value, keeping its type: numbers
// stay numbers and nested objects maps, so a receiver can query them as such.
func fieldValue(v any) attribute.Value {
	switch x := v.(type) {
	case string:
		if utf8.ValidString(x) {
			return attribute.StringValue(x)
		}
		return attribute.ByteSliceValue([]byte(x))
	case int64:
		return attribute.Int64Value(x)
	case float64:
		return attribute.Float64Value(x)
	case bool:
		return attribute.BoolValue(x)
	case []any:
		vs := make([]attribute.Value, len(x))
		for i, e := range x {
			vs[i] = fieldValue(e)
		}
		return attribute.SliceValue(vs...)
	case logparse.Object:
		return objectValue(x)
	}
	return attribute.Value{} // JSON null: an empty value
}

func objectValue(o logparse.Object) attribute.Value {
	kvs := make([]attribute.KeyValue, len(o))
	for i, f := range o {
		kvs[i] = attribute.KeyValue{Key: attribute.Key(text(f.Key)), Value: fieldValue(f.Value)}
	}
	return attribute.MapValue(kvs...)
}

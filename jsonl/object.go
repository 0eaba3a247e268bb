package jsonl

import (
	"bytes"
	"encoding/json"

	"github.com/podexporter/podexporter/journald/logparse"
)

// object writes a parsed object as a JSON object in the line's own field order,
// which a Go map would lose.
type object logparse.Object

// MarshalJSON implements json.Marshaler.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.Key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(jsonValue(f.Value))
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// jsonValue wraps the objects inside v so that they keep their order too.
func jsonValue(v any) any {
	switch x := v.(type) {
	case logparse.Object:
		return object(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	}
	return v
}

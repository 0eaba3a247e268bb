package logparse

import "strconv"

// kind is a decoded value's JSON type.
type kind uint8

const (
	kString kind = iota + 1
	kNumber
	kTrue
	kFalse
	kNull
	kObject
	kArray
)

// member is one top-level field as the decoders leave it: scalars are not yet
// boxed into an interface, so that the fields read into Message, Severity, Time
// and the trace context cost no allocation.
type member struct {
	key string
	// s is a string's value or a number's literal.
	s string
	// v is an Object or []any.
	v    any
	kind kind
	// role and rank say what the key can be read as, and how early (see classify).
	role role
	rank uint8
	// used: the member was read and leaves Fields. usedInner: its nested
	// object's inner key was read ("level" of "log", "id" of "trace"), and leaves.
	used, usedInner bool
}

// value is the member's value as Field.Value holds it.
func (m *member) value() any {
	switch m.kind {
	case kString:
		return m.s
	case kNumber:
		return number(m.s)
	case kTrue:
		return true
	case kFalse:
		return false
	case kNull:
		return nil
	}
	return m.v
}

// scalar returns the text of the member's string or number value, or of its
// nested object's inner key for the nested roles; num says it was a number.
func (m *member) scalar() (text string, num, ok bool) {
	if inner := innerKey(m.role); inner != "" {
		obj, _ := m.v.(Object)
		switch v := obj.get(inner).(type) {
		case string:
			return v, false, true
		case int64:
			return strconv.FormatInt(v, 10), true, true
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64), true, true
		}
		return "", false, false
	}
	switch m.kind {
	case kString:
		return m.s, false, true
	case kNumber:
		return m.s, true, true
	}
	return "", false, false
}

// consume marks what scalar read as read.
func (m *member) consume() {
	if innerKey(m.role) != "" {
		m.usedInner = true
	} else {
		m.used = true
	}
}

// get returns the value of the first field named key, nil when there is none.
func (o Object) get(key string) any {
	for _, f := range o {
		if f.Key == key {
			return f.Value
		}
	}
	return nil
}

// without returns a copy of o without its first field named key.
func (o Object) without(key string) Object {
	out := make(Object, 0, len(o))
	for i, f := range o {
		if f.Key == key {
			return append(append(out, o[:i]...), o[i+1:]...)
		}
	}
	return append(out, o...)
}

// number converts a JSON number literal: an integer literal that fits is an
// int64; any other literal (a fraction or exponent, or too large an integer) is a
// float64. A literal beyond float64's range stays a string, the literal itself,
// rather than become an infinity that loses it.
func number(lit string) any {
	if n, ok := parseInt(lit); ok {
		return n
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return lit
	}
	return f
}

// parseInt reads an optionally negative run of at most 19 decimal digits into an
// int64. Unlike strconv.ParseInt it allocates nothing when it fails, which every
// float literal makes it do.
func parseInt(s string) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	var u uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

func parseFloat(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

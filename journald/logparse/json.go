package logparse

import (
	"strings"
	"unicode/utf8"
)

// maxDepth bounds the nesting of objects and arrays (the line's own object is
// depth 1), so that a hostile line cannot make the decoder recurse without bound.
const maxDepth = 64

// jsonDecoder reads one JSON object. It is hand-rolled rather than
// encoding/json because the field order matters (a map loses it), because a
// string without escapes can be returned as a slice of the line, and because the
// top-level scalars are kept unboxed (see member).
type jsonDecoder struct {
	s     string
	i     int
	depth int
	fail  failure
}

// stop records why decoding stopped, where, and returns false.
func (d *jsonDecoder) stop(msg string) bool {
	if d.fail.msg == "" {
		d.fail = failure{msg: msg, at: d.i}
	}
	return false
}

// decodeJSON reads line, which must be one JSON object, into ms: one member per
// key, in line order, duplicates included.
func decodeJSON(line string, ms []member) ([]member, failure) {
	d := jsonDecoder{s: line}
	ms, _ = d.members(ms)
	return ms, d.fail
}

func (d *jsonDecoder) members(ms []member) ([]member, bool) {
	d.skipSpace()
	if d.i == len(d.s) {
		return ms, d.stop("empty line")
	}
	if d.s[d.i] != '{' {
		return ms, d.stop("not a JSON object")
	}
	d.i++
	d.depth = 1
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
	} else {
		for {
			var m member
			var ok bool
			if m.key, ok = d.key(); !ok || !d.topValue(&m) {
				return ms, false
			}
			m.role, m.rank = classify(m.key)
			ms = append(ms, m)
			end, ok := d.next('}')
			if !ok {
				return ms, false
			}
			if end {
				break
			}
		}
	}
	d.skipSpace()
	if d.i != len(d.s) {
		return ms, d.stop("data after the object")
	}
	return ms, true
}

func (d *jsonDecoder) skipSpace() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// key reads a member's key and the colon after it.
func (d *jsonDecoder) key() (string, bool) {
	d.skipSpace()
	if d.i == len(d.s) || d.s[d.i] != '"' {
		return "", d.stop("expected a string key")
	}
	k, ok := d.str()
	if !ok {
		return "", false
	}
	d.skipSpace()
	if d.i == len(d.s) || d.s[d.i] != ':' {
		return "", d.stop("expected ':' after a key")
	}
	d.i++
	d.skipSpace()
	return k, true
}

// next reads the ',' or the closing byte after an element; end reports the latter.
func (d *jsonDecoder) next(closing byte) (end, ok bool) {
	d.skipSpace()
	if d.i < len(d.s) {
		switch d.s[d.i] {
		case ',':
			d.i++
			d.skipSpace()
			return false, true
		case closing:
			d.i++
			return true, true
		}
	}
	if closing == '}' {
		return false, d.stop("expected ',' or '}' after an object member")
	}
	return false, d.stop("expected ',' or ']' after an array element")
}

// topValue reads a top-level member's value, leaving a scalar unboxed.
func (d *jsonDecoder) topValue(m *member) bool {
	if d.i == len(d.s) {
		return d.stop("unexpected end of line")
	}
	var ok bool
	switch d.s[d.i] {
	case '"':
		m.kind = kString
		m.s, ok = d.str()
	case '{':
		m.kind = kObject
		m.v, ok = d.object()
	case '[':
		m.kind = kArray
		m.v, ok = d.array()
	case 't', 'f', 'n':
		m.kind, ok = d.literal()
	default:
		m.kind = kNumber
		m.s, ok = d.number()
	}
	return ok
}

// value reads a nested value.
func (d *jsonDecoder) value() (any, bool) {
	if d.i == len(d.s) {
		return nil, d.stop("unexpected end of line")
	}
	switch d.s[d.i] {
	case '"':
		return d.str()
	case '{':
		return d.object()
	case '[':
		return d.array()
	case 't', 'f', 'n':
		k, ok := d.literal()
		switch k {
		case kTrue:
			return true, ok
		case kFalse:
			return false, ok
		}
		return nil, ok
	}
	lit, ok := d.number()
	if !ok {
		return nil, false
	}
	return number(lit), true
}

func (d *jsonDecoder) enter() bool {
	d.depth++
	if d.depth > maxDepth {
		return d.stop("nested too deeply")
	}
	d.i++
	d.skipSpace()
	return true
}

func (d *jsonDecoder) object() (Object, bool) {
	if !d.enter() {
		return nil, false
	}
	obj := Object{}
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
	} else {
		for {
			k, ok := d.key()
			if !ok {
				return nil, false
			}
			v, ok := d.value()
			if !ok {
				return nil, false
			}
			obj = append(obj, Field{Key: k, Value: v})
			end, ok := d.next('}')
			if !ok {
				return nil, false
			}
			if end {
				break
			}
		}
	}
	d.depth--
	return obj, true
}

func (d *jsonDecoder) array() ([]any, bool) {
	if !d.enter() {
		return nil, false
	}
	arr := []any{}
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
	} else {
		for {
			v, ok := d.value()
			if !ok {
				return nil, false
			}
			arr = append(arr, v)
			end, ok := d.next(']')
			if !ok {
				return nil, false
			}
			if end {
				break
			}
		}
	}
	d.depth--
	return arr, true
}

func (d *jsonDecoder) literal() (kind, bool) {
	rest := d.s[d.i:]
	switch {
	case strings.HasPrefix(rest, "true"):
		d.i += 4
		return kTrue, true
	case strings.HasPrefix(rest, "false"):
		d.i += 5
		return kFalse, true
	case strings.HasPrefix(rest, "null"):
		d.i += 4
		return kNull, true
	}
	return 0, d.stop("invalid literal")
}

// number reads a number as JSON's grammar writes it and returns its literal.
func (d *jsonDecoder) number() (string, bool) {
	s, start := d.s, d.i
	i := start
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && isDigit(s[i]):
		i = digits(s, i)
	default:
		d.i = i
		return "", d.stop("invalid character, expected a value")
	}
	if i < len(s) && s[i] == '.' {
		if i++; i == len(s) || !isDigit(s[i]) {
			d.i = i
			return "", d.stop("expected a digit after the decimal point")
		}
		i = digits(s, i)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || !isDigit(s[i]) {
			d.i = i
			return "", d.stop("expected a digit in the exponent")
		}
		i = digits(s, i)
	}
	d.i = i
	return s[start:i], true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// digits returns the index after the run of digits at s[i:].
func digits(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// plain marks the bytes a JSON string holds as themselves: not the quote, the
// backslash, control characters, nor non-ASCII bytes (which need a UTF-8 check).
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a string. One without escapes or invalid UTF-8, the common case, is
// returned as a slice of the line; any other is decoded into a copy.
func (d *jsonDecoder) str() (string, bool) {
	start := d.i + 1
	for i := start; i < len(d.s); {
		c := d.s[i]
		if plain[c] {
			i++
			continue
		}
		if c == '"' {
			d.i = i + 1
			return d.s[start:i], true
		}
		if c >= utf8.RuneSelf {
			if r, size := utf8.DecodeRuneInString(d.s[i:]); r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		v, end, msg := unquote(d.s, start, i, true)
		d.i = end
		if msg != "" {
			return "", d.stop(msg)
		}
		return v, true
	}
	d.i = len(d.s)
	return "", d.stop("unterminated string")
}

package logparse

import "unicode/utf8"

// decodeLogfmt reads line as logfmt pairs into ms, in line order, duplicates
// included. A key is a run of bytes above space other than '=' and '"'. A value
// is a run of bytes above space (it may hold '=' and '"', which go-logfmt
// rejects), or a double-quoted string with JSON's escapes; an unknown escape is
// kept as written rather than fail the line. A key without '=' is a flag and its
// value is "", as go-logfmt reads it; values stay strings. A line without any
// '=' is not logfmt: plain text would otherwise read as a row of flags.
func decodeLogfmt(line string, ms []member) ([]member, failure) {
	pairs := false
	i := 0
	for {
		for i < len(line) && line[i] <= ' ' {
			i++
		}
		if i == len(line) {
			break
		}
		start := i
		var high byte
		for i < len(line) {
			c := line[i]
			if c <= ' ' || c == '=' || c == '"' {
				break
			}
			high |= c
			i++
		}
		if i == start {
			if line[i] == '=' {
				return ms, failure{msg: "'=' without a key", at: i}
			}
			return ms, failure{msg: "quote without a key", at: i}
		}
		m := member{key: line[start:i], kind: kString}
		if high >= 0x80 {
			m.key = validUTF8(m.key)
		}
		if i < len(line) && line[i] == '"' {
			return ms, failure{msg: "quote after a key", at: i}
		}
		if i < len(line) && line[i] == '=' {
			pairs = true
			i++
			if i < len(line) && line[i] == '"' {
				v, end, msg := quoted(line, i+1)
				if msg != "" {
					return ms, failure{msg: msg, at: end}
				}
				if end < len(line) && line[end] > ' ' {
					return ms, failure{msg: "no space after a quoted value", at: end}
				}
				m.s, i = v, end
			} else {
				start, high = i, 0
				for i < len(line) && line[i] > ' ' {
					high |= line[i]
					i++
				}
				m.s = line[start:i]
				if high >= 0x80 {
					m.s = validUTF8(m.s)
				}
			}
		}
		m.role, m.rank = classify(m.key)
		ms = append(ms, m)
	}
	if !pairs {
		return ms, failure{msg: "no key=value pair", at: 0}
	}
	return ms, failure{}
}

// quoted reads a logfmt quoted value whose body begins at s[start:]: like a JSON
// string but lenient (see unquote), and with control characters allowed.
func quoted(s string, start int) (string, int, string) {
	for i := start; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[start:i], i + 1, ""
		case c == '\\':
			return unquote(s, start, i, false)
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return unquote(s, start, i, false)
			}
			i += size - 1
		}
	}
	return "", len(s), "unterminated string"
}

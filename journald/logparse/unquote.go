package logparse

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Strings the package returns are valid UTF-8: a byte that is not part of valid
// UTF-8 becomes U+FFFD, as encoding/json decodes it, because OTLP carries them as
// protobuf strings, which must be UTF-8.

// unquote decodes a quoted string's body s[start:] up to its closing quote, given
// that s[start:i] needs no decoding. It returns the value, the index after the
// closing quote (or where it failed) and why it failed. strict applies JSON's
// rules: an unknown escape or a control character is an error; otherwise
// (logfmt) they are kept as they are.
func unquote(s string, start, i int, strict bool) (string, int, string) {
	var b strings.Builder
	b.Grow(closingQuote(s, i) - start)
	b.WriteString(s[start:i])
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), i + 1, ""
		case c == '\\':
			if i+1 == len(s) {
				return "", len(s), "unterminated string"
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, n := unescapeU(s[i:])
				if n == 0 {
					if strict {
						return "", i, `invalid \u escape`
					}
					b.WriteString(`\u`)
					i += 2
					continue
				}
				b.WriteRune(r)
				i += n
				continue
			default:
				if strict {
					return "", i, "invalid escape"
				}
				// Keep the backslash; the byte after it is read as itself.
				b.WriteByte('\\')
				i++
				continue
			}
			i += 2
		case c < 0x20 && strict:
			return "", i, "control character in string"
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			i += writeRune(&b, s[i:])
		}
	}
	return "", len(s), "unterminated string"
}

// closingQuote returns the index of the quote that ends a string whose body
// includes s[i:], or len(s), so that unquote allocates once.
func closingQuote(s string, i int) int {
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(s)
}

// unescapeU decodes the \uXXXX escape (or surrogate pair of them) s begins with
// and returns the rune and the bytes it took, 0 when it is not one. A surrogate
// that is not half of a pair is U+FFFD and takes its own six bytes, as
// encoding/json reads it.
func unescapeU(s string) (rune, int) {
	r := hex4(s[2:])
	if r < 0 {
		return 0, 0
	}
	if !utf16.IsSurrogate(r) {
		return r, 6
	}
	if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
		if r2 := hex4(s[8:]); r2 >= 0 {
			if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
				return dec, 12
			}
		}
	}
	return utf8.RuneError, 6
}

func hex4(s string) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for i := 0; i < 4; i++ {
		v := unhex[s[i]]
		if v > 0xf {
			return -1
		}
		r = r<<4 | rune(v)
	}
	return r
}

// unhex maps a hexadecimal digit, in either case, to its value and any other byte
// to 0xff.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c - 'a' + 10)
		t[c-'a'+'A'] = byte(c - 'a' + 10)
	}
	return t
}()

// validUTF8 returns s with each byte that is not part of valid UTF-8 replaced by
// U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*utf8.UTFMax)
	for i := 0; i < len(s); {
		i += writeRune(&b, s[i:])
	}
	return b.String()
}

// writeRune writes the rune s begins with, or U+FFFD for a byte that does not begin
// valid UTF-8 (one per byte, as encoding/json does), and returns the bytes it took.
func writeRune(b *strings.Builder, s string) int {
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size == 1 {
		b.WriteRune(utf8.RuneError)
	} else {
		b.WriteString(s[:size])
	}
	return size
}

package logparse

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var seeds = []string{
	benchJSON, benchLogfmt, benchText, benchPlain,
	`{"level":30,"time":1714567890123,"msg":"x","req":{"id":1,"tags":["a",null,true,1.5e3]}}`,
	`{"log":{"level":"warn"},"trace":{"id":"` + traceHex + `"},"span":{"id":"` + spanHex + `"}}`,
	`{"msg":"call","traceparent":"00-` + traceHex + `-` + spanHex + `-01","trace_flags":"01"}`,
	`{"s":"\u00e9\ud83d\ude00\ud83d","big":12345678901234567890,"huge":1e400}`,
	"{\"a\xff\":\"\xfe\"}",
	` {"a":[[[]]]} `, `{"a":1}x`, `[]`, `{`, `{"a":01}`,
	`time="2024-05-01T12:00:00Z" level=error msg="connection \"refused\"" host=db flag`,
	`ts=1714567890.25 lvl=W msg= a="\u00e9\x41" b==c`,
	"E0101 12:00:00.000000       1 main.go:1] msg",
	"12:00:00.123 [main] INFO  com.example.App - Started",
	"2024/05/01 12:00:00 [error] 29#29: failed",
	"WARNING:root:low disk",
}

// FuzzJSON checks the JSON decoder against encoding/json: a line decodes iff
// it is valid JSON and an object (within maxDepth), and then to the same values
// in the same order.
func FuzzJSON(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(JSON, s, Options{KeepObject: true})
		valid := json.Valid([]byte(s)) && startsObject(s)
		if err != nil {
			if valid && depth(s) <= maxDepth {
				t.Fatalf("Parse(%q): %v; encoding/json reads it", s, err)
			}
			return
		}
		if !valid {
			t.Fatalf("Parse(%q) succeeded; encoding/json rejects it", s)
		}
		want, err := orderedJSON(s)
		if err != nil {
			t.Fatalf("encoding/json on %q: %v", s, err)
		}
		if msg := sameJSON(got.Object, want, "$"); msg != "" {
			t.Fatalf("Parse(%q): %s", s, msg)
		}
	})
}

// depth is the nesting of s's deepest array or object, outside strings.
func depth(s string) int {
	d, deepest, inString := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}

// orderedJSON decodes s with encoding/json's tokenizer, which keeps the order and
// the duplicates that Unmarshal into a map would lose.
func orderedJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	return tokenValue(dec)
}

func tokenValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := Object{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := tokenValue(dec)
			if err != nil {
				return nil, err
			}
			obj = append(obj, Field{Key: k.(string), Value: v})
		}
		_, err := dec.Token()
		return obj, err
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			v, err := tokenValue(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token()
		return arr, err
	}
	return tok, nil
}

// sameJSON describes how got differs from encoding/json's want, "" when not.
func sameJSON(got, want any, path string) string {
	switch w := want.(type) {
	case Object:
		g, ok := got.(Object)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s = %#v, want %#v", path, got, want)
		}
		for i := range w {
			if g[i].Key != w[i].Key {
				return fmt.Sprintf("%s key %d = %q, want %q", path, i, g[i].Key, w[i].Key)
			}
			if msg := sameJSON(g[i].Value, w[i].Value, path+"."+w[i].Key); msg != "" {
				return msg
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s = %#v, want %#v", path, got, want)
		}
		for i := range w {
			if msg := sameJSON(g[i], w[i], path+"["+strconv.Itoa(i)+"]"); msg != "" {
				return msg
			}
		}
		return ""
	case json.Number:
		if !sameNumber(got, string(w)) {
			return fmt.Sprintf("%s = %#v, want the number %s", path, got, w)
		}
		return ""
	}
	if got != want {
		return fmt.Sprintf("%s = %#v, want %#v", path, got, want)
	}
	return ""
}

// sameNumber checks a decoded number against its literal: an integer literal in
// int64's range is that int64, any other literal in float64's range is that
// float64, and a literal beyond float64's range stays itself.
func sameNumber(got any, lit string) bool {
	if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return got == n
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return got == lit
	}
	g, ok := got.(float64)
	return ok && g == f
}

// FuzzLogfmt checks that logfmt pairs, written again as logfmt, read back the
// same.
func FuzzLogfmt(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		first, err := Parse(Logfmt, s, Options{KeepObject: true})
		if err != nil {
			return
		}
		checkStrings(t, s, first)
		enc := encodeLogfmt(first.Object)
		again, err := Parse(Logfmt, enc, Options{KeepObject: true})
		if err != nil {
			t.Fatalf("%q read as %q, written as %q: %v", s, first.Object, enc, err)
		}
		if !reflect.DeepEqual(first.Object, again.Object) {
			t.Fatalf("%q read as %q, written as %q, read back as %q", s, first.Object, enc, again.Object)
		}
		a, _ := Parse(Logfmt, s, Options{})
		b, _ := Parse(Logfmt, enc, Options{})
		if d := lineDiff(a, b); d != "" {
			t.Fatalf("%q and %q: %s", s, enc, d)
		}
	})
}

// encodeLogfmt writes pairs as logfmt, quoting the values that need it.
func encodeLogfmt(o Object) string {
	var b strings.Builder
	for i, f := range o {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.Key)
		b.WriteByte('=')
		v := f.Value.(string)
		if !strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == '"' || r == '=' || r == '\\' }) {
			b.WriteString(v)
			continue
		}
		b.WriteByte('"')
		for _, r := range v {
			switch {
			case r == '"' || r == '\\':
				b.WriteByte('\\')
				b.WriteRune(r)
			case r == '\n':
				b.WriteString(`\n`)
			case r < ' ':
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('"')
	}
	return b.String()
}

// FuzzParse checks what every format promises of any line.
func FuzzParse(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, format := range []Format{Raw, Text, JSON, Logfmt, Auto} {
			for _, keep := range []bool{false, true} {
				l, err := Parse(format, s, Options{KeepObject: keep})
				if err != nil {
					if format != JSON && format != Logfmt {
						t.Fatalf("%v: %v", format, err)
					}
					if d := lineDiff(l, Line{}); d != "" {
						t.Fatalf("%v %q: a Line with an error: %s", format, s, d)
					}
					continue
				}
				allowed := map[Format][]Format{
					Raw: {Raw}, Text: {Raw, Text}, JSON: {JSON}, Logfmt: {Logfmt}, Auto: {Raw, Text, JSON, Logfmt},
				}[format]
				if !containsFormat(allowed, l.Format) {
					t.Fatalf("%v %q: Format %v", format, s, l.Format)
				}
				checkLine(t, s, l, keep)
				if format == Auto && (l.Format == JSON || l.Format == Logfmt) {
					direct, err := Parse(l.Format, s, Options{KeepObject: keep})
					if err != nil || lineDiff(direct, l) != "" {
						t.Fatalf("Auto %q read it as %v, which reads it differently: %v", s, l.Format, err)
					}
				}
			}
		}
	})
}

func containsFormat(fs []Format, f Format) bool {
	for _, g := range fs {
		if g == f {
			return true
		}
	}
	return false
}

// checkLine checks a parsed Line's invariants.
func checkLine(t *testing.T, s string, l Line, keep bool) {
	t.Helper()
	if l.Severity < 0 || l.Severity > sevMax {
		t.Fatalf("%q: Severity %d", s, l.Severity)
	}
	if l.Severity != 0 && l.SeverityText == "" {
		t.Fatalf("%q: Severity %d without a text", s, l.Severity)
	}
	if !l.HasMessage && l.Message != "" {
		t.Fatalf("%q: Message %q without HasMessage", s, l.Message)
	}
	if l.TraceID == ([16]byte{}) {
		if l.SpanID != ([8]byte{}) || l.TraceFlags != 0 {
			t.Fatalf("%q: span id %x, flags %x without a trace id", s, l.SpanID, l.TraceFlags)
		}
	} else if !strings.Contains(strings.ToLower(s), hex.EncodeToString(l.TraceID[:])) && !strings.Contains(s, `\`) {
		t.Fatalf("%q: trace id %x is not in the line", s, l.TraceID)
	}
	if l.SpanID != ([8]byte{}) && !strings.Contains(strings.ToLower(s), hex.EncodeToString(l.SpanID[:])) && !strings.Contains(s, `\`) {
		t.Fatalf("%q: span id %x is not in the line", s, l.SpanID)
	}
	if !l.Time.IsZero() && (l.Time.Year() < 1970 || l.Time.Year() > 2200) {
		t.Fatalf("%q: Time %v", s, l.Time)
	}
	switch l.Format {
	case Raw:
		if d := lineDiff(l, Line{}); d != "" {
			t.Fatalf("%q: Raw but %s", s, d)
		}
	case Text:
		if l.HasMessage || l.Fields != nil || l.Object != nil || l.Severity == 0 || !l.Time.IsZero() {
			t.Fatalf("%q: Text reads only a level: %+v", s, l)
		}
		if !strings.Contains(s, l.SeverityText) {
			t.Fatalf("%q: Text level %q is not in the line", s, l.SeverityText)
		}
	case JSON, Logfmt:
		if keep && (l.Fields != nil || l.HasMessage || l.Object == nil) {
			t.Fatalf("%q: KeepObject: %+v", s, l)
		}
		if !keep && l.Object != nil {
			t.Fatalf("%q: Object without KeepObject", s)
		}
	}
	checkStrings(t, s, l)
}

// checkStrings checks that every string in l is valid UTF-8.
func checkStrings(t *testing.T, s string, l Line) {
	t.Helper()
	var walk func(v any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case string:
			return utf8.ValidString(v)
		case Object:
			for _, f := range v {
				if !utf8.ValidString(f.Key) || !walk(f.Value) {
					return false
				}
			}
		case []any:
			for _, e := range v {
				if !walk(e) {
					return false
				}
			}
		}
		return true
	}
	if !walk(l.Message) || !walk(l.SeverityText) || !walk(l.Fields) || !walk(l.Object) {
		t.Fatalf("%q: invalid UTF-8 in %+v", s, l)
	}
}

// FuzzText checks the text reader: it reads a level word that is in the line,
// or nothing, and never more than a level.
func FuzzText(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add("[ERROR]")
	f.Add("1 2 [x] WRN: y")
	f.Fuzz(func(t *testing.T, s string) {
		l := parseText(s)
		if l.Format == Raw {
			if d := lineDiff(l, Line{}); d != "" {
				t.Fatalf("%q: %s", s, d)
			}
			return
		}
		if l.Format != Text || l.Severity < 1 || l.Severity > sevMax {
			t.Fatalf("%q: %+v", s, l)
		}
		i := strings.Index(s, l.SeverityText)
		if i < 0 || bytes.ContainsAny([]byte(l.SeverityText), " \t[]:") {
			t.Fatalf("%q: level %q", s, l.SeverityText)
		}
		if sev, ok := textLevel(l.SeverityText); (!ok || sev != l.Severity) && len(l.SeverityText) != 1 {
			t.Fatalf("%q: level %q is not a level word", s, l.SeverityText)
		}
	})
}

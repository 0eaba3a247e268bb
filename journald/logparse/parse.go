package logparse

import (
	"fmt"
	"strconv"
	"strings"
)

// scratch is how many top-level fields Parse decodes before it allocates: more
// than most structured lines have.
const scratch = 16

// Parse reads line in format f.
//
// For Raw it returns the zero Line and nil. For JSON a line that is not one JSON
// object (whitespace around it allowed), and for Logfmt a line that is not
// logfmt, returns the zero Line and an error saying why and at which byte, without
// the line's content: the caller sends the line unchanged and counts it. Text and
// Auto never fail.
//
// From an object's top-level fields Parse reads:
//   - the message: the first of msg, message, @message, Message, MESSAGE, @m whose
//     value is a string (never "log", which Docker uses for the whole line);
//   - the severity: the first of level, severity, lvl, log.level ("log":{"level"}),
//     loglevel, levelname, severity_text, SeverityText, @l, @level, Level whose
//     value is a string or number. SeverityText is that value as written; a value
//     Parse does not know as a level gives Severity 0 and stays in Fields;
//   - the time: the first of time, timestamp, ts, @timestamp, @t, datetime,
//     asctime, Timestamp that parses as a time between 1970 and 2200;
//   - the trace context: trace_id, traceId, trace.id ("trace":{"id"}), traceid,
//     TraceId (32 hex digits), then span_id, spanId, span.id, spanid, SpanId (16)
//     and trace_flags, traceFlags, TraceFlags; or, when no trace id field reads,
//     a W3C traceparent. A span id or flags without a trace id is not read.
//
// Where a line has several keys for one thing, the one earlier in its list wins,
// then the one earlier in the line; duplicate keys are all kept, in order. A field
// read (or, for a nested one, its inner key) leaves Fields; one that does not
// read stays. With KeepObject, Object is the whole object and only the message is
// not read. Strings are valid UTF-8 (an invalid byte becomes U+FFFD) and may share
// line's memory.
//
// Numbers are int64 when written as an integer that fits, float64 otherwise (a
// number beyond float64's range stays its literal, a string); logfmt values are
// all strings.
func Parse(f Format, line string, opts Options) (Line, error) {
	switch f {
	case Raw:
		return Line{}, nil
	case Text:
		return parseText(line), nil
	case JSON, Logfmt:
		var buf [scratch]member
		var ms []member
		var fail failure
		if f == JSON {
			ms, fail = decodeJSON(line, buf[:0])
		} else {
			ms, fail = decodeLogfmt(line, buf[:0])
		}
		if fail.msg != "" {
			return Line{}, &syntaxError{format: f, failure: fail}
		}
		return build(f, ms, opts.KeepObject), nil
	case Auto:
		var buf [scratch]member
		if startsObject(line) {
			if ms, fail := decodeJSON(line, buf[:0]); fail.msg == "" {
				return build(JSON, ms, opts.KeepObject), nil
			}
		}
		// Most plain lines have no '=': they need no logfmt attempt.
		if strings.IndexByte(line, '=') >= 0 {
			if ms, fail := decodeLogfmt(line, buf[:0]); fail.msg == "" && structured(ms) {
				return build(Logfmt, ms, opts.KeepObject), nil
			}
		}
		return parseText(line), nil
	}
	return Line{}, fmt.Errorf("logparse: unknown format %v", f)
}

// failure says why a decoder stopped; the zero value means it did not.
type failure struct {
	msg string
	at  int
}

// syntaxError is a failure Parse returns. The decoders return a failure rather
// than an error so that Auto trying a format costs no allocation.
type syntaxError struct {
	format Format
	failure
}

func (e *syntaxError) Error() string {
	return e.format.String() + ": " + e.msg + " at byte " + strconv.Itoa(e.at)
}

func startsObject(line string) bool {
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case ' ', '\t', '\n', '\r':
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

// structured reports whether logfmt pairs have a level or message key, which
// tells a logfmt line from text that happens to hold an '='.
func structured(ms []member) bool {
	for i := range ms {
		if r := ms[i].role; r == roleMessage || r == roleSeverity {
			return true
		}
	}
	return false
}

func build(f Format, ms []member, keep bool) Line {
	l := Line{Format: f}
	if !keep {
		l.read(ms, takeMessage)
	}
	l.read(ms, takeSeverity)
	l.read(ms, takeTime)
	if l.read(ms, takeTraceID) {
		l.read(ms, takeSpanID)
		l.read(ms, takeTraceFlags)
	} else {
		l.read(ms, takeTraceparent)
	}
	if keep {
		l.Object = object(ms, true)
	} else {
		l.Fields = object(ms, false)
	}
	return l
}

// take is a thing read from a line's fields.
type take uint8

const (
	takeMessage take = iota
	takeSeverity
	takeTime
	takeTraceID
	takeSpanID
	takeTraceFlags
	takeTraceparent
)

// takeRoles are the roles of the members each take reads.
var takeRoles = [...]uint32{
	takeMessage:     roles(roleMessage),
	takeSeverity:    roles(roleSeverity, roleLogObject),
	takeTime:        roles(roleTime),
	takeTraceID:     roles(roleTraceID, roleTraceObject),
	takeSpanID:      roles(roleSpanID, roleSpanObject),
	takeTraceFlags:  roles(roleTraceFlags),
	takeTraceparent: roles(roleTraceparent),
}

// read offers t the members of its roles, best first (lowest rank, then line
// order), until one reads, and reports whether one did. It walks the members once
// per rank that has candidates, and ranks are few, so a line of a thousand
// unreadable "time" keys costs linear time, not quadratic. (A switch rather than
// a func value calls the readers so that ms, which Parse keeps on its stack, does
// not escape.)
func (l *Line) read(ms []member, t take) bool {
	rs := takeRoles[t]
	lo, hi := 255, -1
	for i := range ms {
		if rs&(1<<ms[i].role) != 0 {
			lo, hi = min(lo, int(ms[i].rank)), max(hi, int(ms[i].rank))
		}
	}
	for rank := lo; rank <= hi; rank++ {
		for i := range ms {
			m := &ms[i]
			if rs&(1<<m.role) == 0 || int(m.rank) != rank {
				continue
			}
			var ok bool
			switch t {
			case takeMessage:
				ok = l.takeMessage(m)
			case takeSeverity:
				ok = l.takeSeverity(m)
			case takeTime:
				ok = l.takeTime(m)
			case takeTraceID:
				ok = l.takeTraceID(m)
			case takeSpanID:
				ok = l.takeSpanID(m)
			case takeTraceFlags:
				ok = l.takeTraceFlags(m)
			case takeTraceparent:
				ok = l.takeTraceparent(m)
			}
			if ok {
				return true
			}
		}
	}
	return false
}

func (l *Line) takeMessage(m *member) bool {
	if m.kind != kString {
		return false
	}
	l.Message, l.HasMessage, m.used = m.s, true, true
	return true
}

func (l *Line) takeSeverity(m *member) bool {
	v, _, ok := m.scalar()
	if !ok {
		return false
	}
	l.SeverityText = v
	if l.Severity = severityOf(v); l.Severity != 0 {
		m.consume()
	}
	return true
}

func (l *Line) takeTime(m *member) bool {
	v, _, ok := m.scalar()
	if !ok {
		return false
	}
	t, ok := parseTime(v)
	if ok {
		l.Time = t
		m.consume()
	}
	return ok
}

func (l *Line) takeTraceID(m *member) bool {
	v, num, ok := m.scalar()
	if !ok || num {
		return false
	}
	id, ok := parseTraceID(v)
	if ok {
		l.TraceID = id
		m.consume()
	}
	return ok
}

func (l *Line) takeSpanID(m *member) bool {
	v, num, ok := m.scalar()
	if !ok || num {
		return false
	}
	id, ok := parseSpanID(v)
	if ok {
		l.SpanID = id
		m.consume()
	}
	return ok
}

func (l *Line) takeTraceFlags(m *member) bool {
	v, num, ok := m.scalar()
	if !ok {
		return false
	}
	flags, ok := parseTraceFlags(v, num)
	if ok {
		l.TraceFlags = flags
		m.consume()
	}
	return ok
}

func (l *Line) takeTraceparent(m *member) bool {
	if m.kind != kString {
		return false
	}
	tid, sid, flags, ok := parseTraceparent(m.s)
	if ok {
		l.TraceID, l.SpanID, l.TraceFlags = tid, sid, flags
		m.used = true
	}
	return ok
}

// object boxes the members into an Object: all of them with keep, else those
// not read (nil when none is left).
func object(ms []member, keep bool) Object {
	n := 0
	for i := range ms {
		if keep || !ms[i].used {
			n++
		}
	}
	if n == 0 {
		if keep {
			return Object{}
		}
		return nil
	}
	out := make(Object, 0, n)
	for i := range ms {
		m := &ms[i]
		switch {
		case keep:
		case m.used:
			continue
		case m.usedInner:
			if rest := m.v.(Object).without(innerKey(m.role)); len(rest) > 0 {
				out = append(out, Field{Key: m.key, Value: rest})
			}
			continue
		}
		out = append(out, Field{Key: m.key, Value: m.value()})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

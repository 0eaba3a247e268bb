// Package logparse reads the structure out of one log line: JSON and logfmt fields,
// the severity, timestamp and trace context a line carries, or a leading level word
// in plain text. It is pure Go (no cgo) so that it can be fuzzed alone; the journal
// reader calls it on every joined line whose container asks for a format.
package logparse

import "time"

// Format says how a line is read.
type Format uint8

const (
	// Raw sends the line as it is: nothing is parsed.
	Raw Format = iota
	// Text looks for a leading level word (ERROR, WARN, E0101, [info]) only.
	Text
	// JSON reads a JSON object.
	JSON
	// Logfmt reads key=value pairs.
	Logfmt
	// Auto reads a line that starts with '{' and parses as a JSON object as JSON, a
	// line that parses as logfmt with a level or message key as logfmt, and any
	// other line as Text.
	Auto
)

// Field is one parsed key and its value.
type Field struct {
	Key string
	// Value is a string, int64, float64, bool, nil (JSON null), []any of these, or
	// an Object.
	Value any
}

// Object is a parsed object's fields, in the order the line wrote them.
type Object []Field

// Options change what Parse keeps.
type Options struct {
	// KeepObject keeps the whole object in Line.Object (for a map body) instead of
	// splitting it into Message and Fields. Severity, time and trace context are
	// still read from it.
	KeepObject bool
}

// Line is what parsing found in a line. The zero value means nothing was found:
// the line goes out as it came.
type Line struct {
	// Format is the format that read the line: JSON, Logfmt or Text (Auto
	// resolved); Raw when nothing was read.
	Format Format
	// Message is the message field's text (msg, message, ...) when HasMessage.
	Message    string
	HasMessage bool
	// Fields are the object's fields other than those read into Message,
	// Severity, Time and the trace context, in line order; nil for Text.
	Fields Object
	// Object is the whole object, with KeepObject.
	Object Object
	// Severity is the OpenTelemetry severity number (1..24), 0 when the line did
	// not say; SeverityText is the level as the line wrote it ("warning", "E", "30").
	Severity     int
	SeverityText string
	// Time is the line's own timestamp, zero when it had none that parsed.
	Time time.Time
	// TraceID, SpanID and TraceFlags are the trace context; TraceID is all zero
	// when the line carried none (or an invalid one).
	TraceID    [16]byte
	SpanID     [8]byte
	TraceFlags byte
}

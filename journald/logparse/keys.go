package logparse

// role is what a top-level key can be read as.
type role uint8

const (
	roleNone role = iota
	roleMessage
	roleSeverity
	roleTime
	roleTraceID
	roleSpanID
	roleTraceFlags
	roleTraceparent
	// The nested objects that can hold one of the above: "log":{"level":..},
	// "trace":{"id":..} and "span":{"id":..}, as Elastic Common Schema nests them.
	roleLogObject
	roleTraceObject
	roleSpanObject
)

func roles(rs ...role) uint32 {
	var b uint32
	for _, r := range rs {
		b |= 1 << r
	}
	return b
}

// innerKey is the key a nested role reads inside its object, "" for the others.
func innerKey(r role) string {
	switch r {
	case roleLogObject:
		return "level"
	case roleTraceObject, roleSpanObject:
		return "id"
	}
	return ""
}

// classify returns a top-level key's role and its rank in the role's list: when a
// line has several keys of a role, the lowest rank is read (then the first in the
// line). Keys are case-sensitive: "Message" and "msg" are the spellings loggers
// use, "MSG" is not. The dotted and the nested spelling of a key share a rank.
func classify(key string) (role, uint8) {
	switch key {
	case "msg":
		return roleMessage, 0
	case "message":
		return roleMessage, 1
	case "@message":
		return roleMessage, 2
	case "Message":
		return roleMessage, 3
	case "MESSAGE":
		return roleMessage, 4
	case "@m": // Serilog's rendered message
		return roleMessage, 5

	case "level":
		return roleSeverity, 0
	case "severity":
		return roleSeverity, 1
	case "lvl":
		return roleSeverity, 2
	case "log.level":
		return roleSeverity, 3
	case "log":
		return roleLogObject, 3
	case "loglevel":
		return roleSeverity, 4
	case "levelname": // Python logging
		return roleSeverity, 5
	case "severity_text":
		return roleSeverity, 6
	case "SeverityText":
		return roleSeverity, 7
	case "@l": // Serilog compact
		return roleSeverity, 8
	case "@level":
		return roleSeverity, 9
	case "Level": // Serilog's and .NET's JSON formatters
		return roleSeverity, 10

	case "time":
		return roleTime, 0
	case "timestamp":
		return roleTime, 1
	case "ts":
		return roleTime, 2
	case "@timestamp":
		return roleTime, 3
	case "@t":
		return roleTime, 4
	case "datetime":
		return roleTime, 5
	case "asctime": // Python logging
		return roleTime, 6
	case "Timestamp":
		return roleTime, 7

	case "trace_id":
		return roleTraceID, 0
	case "traceId":
		return roleTraceID, 1
	case "trace.id":
		return roleTraceID, 2
	case "trace":
		return roleTraceObject, 2
	case "traceid":
		return roleTraceID, 3
	case "TraceId":
		return roleTraceID, 4

	case "span_id":
		return roleSpanID, 0
	case "spanId":
		return roleSpanID, 1
	case "span.id":
		return roleSpanID, 2
	case "span":
		return roleSpanObject, 2
	case "spanid":
		return roleSpanID, 3
	case "SpanId":
		return roleSpanID, 4

	case "trace_flags":
		return roleTraceFlags, 0
	case "traceFlags":
		return roleTraceFlags, 1
	case "TraceFlags":
		return roleTraceFlags, 2

	case "traceparent":
		return roleTraceparent, 0
	}
	return roleNone, 0
}

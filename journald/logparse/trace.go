package logparse

import "strings"

// decodeHex decodes s, exactly 2*len(dst) hex digits in either case, into dst; it
// reports false for anything else and for an all-zero id, which W3C Trace Context
// calls invalid.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	var nonzero byte
	for i := range dst {
		hi, lo := unhex[s[2*i]], unhex[s[2*i+1]]
		if hi|lo > 0xf {
			return false
		}
		dst[i] = hi<<4 | lo
		nonzero |= dst[i]
	}
	return nonzero != 0
}

// parseTraceID returns the zero id with false, never a partly decoded one.
func parseTraceID(s string) ([16]byte, bool) {
	var id [16]byte
	if !decodeHex(id[:], s) {
		return [16]byte{}, false
	}
	return id, true
}

// parseSpanID returns the zero id with false, never a partly decoded one.
func parseSpanID(s string) ([8]byte, bool) {
	var id [8]byte
	if !decodeHex(id[:], s) {
		return [8]byte{}, false
	}
	return id, true
}

// parseTraceparent reads a W3C traceparent header's value of version 00:
// "00-<32 hex trace id>-<16 hex span id>-<2 hex flags>". Upper-case hex, which
// the recommendation forbids, is read too: a log line is not a header to reject.
func parseTraceparent(s string) (tid [16]byte, sid [8]byte, flags byte, ok bool) {
	if len(s) != 55 || !strings.HasPrefix(s, "00-") || s[35] != '-' || s[52] != '-' {
		return tid, sid, 0, false
	}
	tid, ok1 := parseTraceID(s[3:35])
	sid, ok2 := parseSpanID(s[36:52])
	flags, ok3 := parseTraceFlags(s[53:], false)
	if !ok1 || !ok2 || !ok3 {
		return [16]byte{}, [8]byte{}, 0, false
	}
	return tid, sid, flags, true
}

// parseTraceFlags reads trace flags: a number 0..255, or a string of one or two
// hex digits ("01"), as OpenTelemetry writes them.
func parseTraceFlags(s string, num bool) (byte, bool) {
	if num {
		n, ok := parseInt(s)
		return byte(n), ok && 0 <= n && n <= 0xff
	}
	s = strings.TrimSpace(s)
	if len(s) == 0 || len(s) > 2 {
		return 0, false
	}
	var v byte
	for i := 0; i < len(s); i++ {
		d := unhex[s[i]]
		if d > 0xf {
			return 0, false
		}
		v = v<<4 | d
	}
	return v, true
}

package logparse

import (
	"strings"
	"testing"
)

func TestTraceIDs(t *testing.T) {
	for _, s := range []string{traceHex, strings.ToUpper(traceHex), "00000000000000000000000000000001"} {
		if _, ok := parseTraceID(s); !ok {
			t.Errorf("parseTraceID(%q) failed", s)
		}
	}
	for _, s := range []string{"", spanHex, traceHex + "0", traceHex[:31] + "g", strings.Repeat("0", 32), " " + traceHex[1:],
		"00000001000000000000000X00000000"} {
		// Not even part of an id that does not decode comes back (a fuzzed bug).
		if id, ok := parseTraceID(s); ok || id != [16]byte{} {
			t.Errorf("parseTraceID(%q) = %x, %v", s, id, ok)
		}
	}
	if id, ok := parseSpanID(spanHex); !ok || id != [8]byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7} {
		t.Errorf("parseSpanID(%q) = %x, %v", spanHex, id, ok)
	}
	for _, s := range []string{"0000000000000000", traceHex, spanHex[:15]} {
		if id, ok := parseSpanID(s); ok {
			t.Errorf("parseSpanID(%q) = %x", s, id)
		}
	}
}

func TestTraceparent(t *testing.T) {
	tid, sid, flags, ok := parseTraceparent("00-" + traceHex + "-" + spanHex + "-01")
	if !ok || tid != traceID(t, traceHex) || sid != spanID(t, spanHex) || flags != 1 {
		t.Errorf("parseTraceparent = %x %x %x %v", tid, sid, flags, ok)
	}
	for _, s := range []string{
		"",
		"01-" + traceHex + "-" + spanHex + "-01", // version
		"00-" + traceHex + "-" + spanHex + "-01-extra",           // length
		"00-" + traceHex + "_" + spanHex + "-01",                 // separator
		"00-" + strings.Repeat("0", 32) + "-" + spanHex + "-01",  // zero trace id
		"00-" + traceHex + "-" + strings.Repeat("0", 16) + "-01", // zero span id
		"00-" + traceHex + "-" + spanHex + "-0x",                 // flags
		"00-" + traceHex[:31] + "z-" + spanHex + "-01",           // hex
	} {
		if _, _, _, ok := parseTraceparent(s); ok {
			t.Errorf("parseTraceparent(%q) succeeded", s)
		}
	}
}

func TestTraceFlags(t *testing.T) {
	tests := []struct {
		s    string
		num  bool
		want byte
		ok   bool
	}{
		{"01", false, 1, true}, {"1", false, 1, true}, {"ff", false, 255, true}, {"10", false, 0x10, true},
		{"10", true, 10, true}, {"255", true, 255, true}, {"256", true, 0, false}, {"-1", true, 0, false},
		{"1.5", true, 0, false}, {"", false, 0, false}, {"001", false, 0, false}, {"zz", false, 0, false},
	}
	for _, tt := range tests {
		got, ok := parseTraceFlags(tt.s, tt.num)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("parseTraceFlags(%q, %v) = %d, %v", tt.s, tt.num, got, ok)
		}
	}
}

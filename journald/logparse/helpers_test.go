package logparse

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

const (
	traceHex = "4bf92f3577b34da6a3ce929d0e0e4736"
	spanHex  = "00f067aa0ba902b7"
)

func traceID(t testing.TB, s string) [16]byte {
	t.Helper()
	id, ok := parseTraceID(s)
	if !ok {
		t.Fatalf("bad trace id %q", s)
	}
	return id
}

func spanID(t testing.TB, s string) [8]byte {
	t.Helper()
	id, ok := parseSpanID(s)
	if !ok {
		t.Fatalf("bad span id %q", s)
	}
	return id
}

func rfc3339(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UTC()
}

// lineDiff describes how got differs from want, "" when it does not.
func lineDiff(got, want Line) string {
	if !got.Time.Equal(want.Time) {
		return fmt.Sprintf("Time = %v, want %v", got.Time, want.Time)
	}
	got.Time, want.Time = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("\n got %#v\nwant %#v", got, want)
	}
	return ""
}

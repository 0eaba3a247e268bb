package jsonl

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/podexporter/podexporter/logrecord"
)

// TestHostRecordFields: a host record's line carries where it came from (the
// process, the facility, the transport); a container line carries none of it.
func TestHostRecordFields(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	recs := []logrecord.Record{
		{Time: at, Observed: at, Priority: 5, Body: "session opened", Identifier: "sudo", Unit: "session-1.scope", BootID: "b", Cursor: "s=1;i=1",
			Host: &logrecord.HostEntry{PID: 4242, Exe: "/usr/bin/sudo", Comm: "sudo", Transport: "syslog", Facility: 10}},
		{Time: at, Observed: at, Priority: 4, Body: "usb 1-1: new device", Identifier: "kernel", Cursor: "s=1;i=2",
			Host: &logrecord.HostEntry{Transport: "kernel", Facility: 0}},
		{Time: at, Observed: at, Priority: 6, Body: "a line", ContainerID: "aaaaaaaaaaaa", ContainerName: "web", Stream: "stdout", Cursor: "s=1;i=3"},
	}
	var b bytes.Buffer
	if err := New(&b).Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&b)
	var got []map[string]any
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	for _, tc := range []struct {
		line int
		key  string
		want any // nil: absent
	}{
		{0, "process.pid", 4242.0},
		{0, "process.executable.path", "/usr/bin/sudo"},
		{0, "syslog.facility", 10.0},
		{0, "transport", "syslog"},
		{0, "syslog.identifier", "sudo"},
		{0, "systemd.unit", "session-1.scope"},
		{1, "syslog.facility", 0.0}, // the kernel's facility is 0, not absent
		{1, "process.pid", nil},
		{1, "transport", "kernel"},
		{2, "process.pid", nil},
		{2, "syslog.facility", nil},
		{2, "transport", nil},
	} {
		if v, ok := got[tc.line][tc.key]; tc.want == nil && ok || tc.want != nil && v != tc.want {
			t.Errorf("line %d: %s = %#v, want %#v", tc.line, tc.key, v, tc.want)
		}
	}
}

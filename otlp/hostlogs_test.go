package otlp

import (
	"context"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/logrecord"
)

func hostRecord(i int, ident, unit string, h logrecord.HostEntry) logrecord.Record {
	return logrecord.Record{Time: time.Unix(1700000000, int64(i)), Priority: 5, Severity: logrecord.SeverityFromPriority(5), Body: "host line",
		Identifier: ident, Unit: unit, BootID: "0123456789abcdef0123456789abcdef", Hostname: "h", Cursor: "s=x;i=" + string(rune('a'+i)), Host: &h}
}

// TestHostRecordMapping: a host record's resource is the host's with the record's
// service (syslog identifier, else process name, else unit) and unit; per-process
// values are record attributes, typed, under their semantic-convention names.
func TestHostRecordMapping(t *testing.T) {
	exp := &memExporter{}
	host := Host{ServiceName: "podexporter-test", ServiceInstanceID: "m", HostName: "h", HostID: "m", Extra: map[string]string{"deployment.environment.name": "prod"}}
	s := NewLogSink(exp, host, quiet())
	sudo := logrecord.HostEntry{PID: 4242, Exe: "/usr/bin/sudo", Comm: "sudo", Transport: "syslog", Facility: 10}
	recs := []logrecord.Record{
		hostRecord(0, "sudo", "", sudo),
		hostRecord(1, "sshd", "ssh.service", logrecord.HostEntry{PID: 101, Exe: "/usr/sbin/sshd", Comm: "sshd", Transport: "stdout", Facility: -1}),
		hostRecord(2, "kernel", "", logrecord.HostEntry{Transport: "kernel", Facility: 0}),
		hostRecord(3, "", "", logrecord.HostEntry{PID: 7, Comm: "myapp", Transport: "journal", Facility: -1}),
		hostRecord(4, "", "", logrecord.HostEntry{Transport: "journal", Facility: -1}),
	}
	second := recs[0]
	second.Host = &logrecord.HostEntry{PID: 4243, Exe: "/usr/bin/sudo", Comm: "sudo", Transport: "syslog", Facility: 10}
	second.Cursor = "s=x;i=f"
	recs = append(recs, second)
	if err := s.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	sent := exp.records()
	if len(sent) != len(recs) {
		t.Fatalf("%d records exported, want %d", len(sent), len(recs))
	}
	// Records are sent grouped by resource; each is found by its cursor.
	got := make([]otelcoltest.LogRecord, len(recs))
	for _, r := range sent {
		for i := range recs {
			if r.Attributes["log.record.uid"] == recs[i].Cursor {
				got[i] = r
			}
		}
	}
	for _, tc := range []struct {
		name     string
		rec      otelcoltest.LogRecord
		resource map[string]string // "" for absent
		attrs    map[string]any    // nil for absent
	}{
		{"sudo", got[0],
			map[string]string{"service.name": "sudo", "systemd.unit": "", "host.id": "m", "host.name": "h", "service.instance.id": "m", "deployment.environment.name": "prod"},
			map[string]any{"process.pid": int64(4242), "process.executable.path": "/usr/bin/sudo", "process.executable.name": "sudo",
				"syslog.identifier": "sudo", "syslog.facility": int64(10), "journald._TRANSPORT": "syslog", "journald._BOOT_ID": "0123456789abcdef0123456789abcdef",
				"log.record.uid": "s=x;i=a", "log.iostream": nil}},
		{"a unit's", got[1], map[string]string{"service.name": "sshd", "systemd.unit": "ssh.service"},
			map[string]any{"process.pid": int64(101), "syslog.facility": nil, "journald._TRANSPORT": "stdout"}},
		{"the kernel's", got[2], map[string]string{"service.name": "kernel"},
			map[string]any{"process.pid": nil, "process.executable.path": nil, "syslog.facility": int64(0), "journald._TRANSPORT": "kernel"}},
		{"without identifier: the process name", got[3], map[string]string{"service.name": "myapp"},
			map[string]any{"process.pid": int64(7), "syslog.identifier": nil}},
		{"nothing to name it by: the host's", got[4], map[string]string{"service.name": "podexporter-test"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, want := range tc.resource {
				if v, _ := tc.rec.Resource[k].(string); v != want {
					t.Errorf("resource %s = %q, want %q", k, v, want)
				}
			}
			attrs := tc.rec.Attributes
			for k, want := range tc.attrs {
				v, ok := attrs[k]
				switch {
				case want == nil && ok:
					t.Errorf("attribute %s = %v, want none", k, v)
				case want != nil && (!ok || v != want):
					t.Errorf("attribute %s = %#v, want %#v", k, v, want)
				}
			}
		})
	}
	// One resource per service and unit, not per process: the two sudo records share
	// theirs.
	if n := len(s.enc.resources); n != 5 {
		t.Errorf("%d resources for sudo (twice), sshd, the kernel, myapp and the host; want 5", n)
	}
	if !sameResource(got[0], got[5]) || len(exp.batches) != 1 {
		t.Errorf("two records of one service on two resources (or %d requests)", len(exp.batches))
	}
}

// An operator's OTEL_RESOURCE_ATTRIBUTES win over the record's service, as over
// every other resource attribute.
func TestHostRecordServiceOverridden(t *testing.T) {
	exp := &memExporter{}
	s := NewLogSink(exp, Host{ServiceName: "podexporter-test", HostName: "h", Extra: map[string]string{"service.name": "fleet"}}, quiet())
	if err := s.Deliver(context.Background(), []logrecord.Record{hostRecord(0, "sudo", "", logrecord.HostEntry{Facility: -1})}); err != nil {
		t.Fatal(err)
	}
	if v := exp.records()[0].Resource["service.name"]; v != "fleet" {
		t.Errorf("service.name = %q, want the operator's", v)
	}
}

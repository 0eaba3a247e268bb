// This test reads the running journal: the journal reader (package journald) needs
// libsystemd through cgo, which the otlp package itself does not.

//go:build cgo

package otlp

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/journald"
)

// TestHostRecordToCollector writes a native entry into the running journald, reads
// it with a host selection and sends it to a real Collector: what the Collector
// stored carries the resource and record attributes of a host record, each equal to
// the entry's fields as journalctl prints them.
func TestHostRecordToCollector(t *testing.T) {
	testenv.RequireJournald(t)
	testenv.RequireTool(t, "systemd-cat")
	testenv.RequireTool(t, "logger")
	c := otelcoltest.StartCollector(t)
	exp, err := NewLogExporter(context.Background(), Config{Endpoint: c.Endpoint(ProtocolGRPC), Protocol: ProtocolGRPC, Compression: "gzip", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	logs := NewLogSink(exp, Host{ServiceName: "podexporter-test", ServiceInstanceID: "machine-1", HostName: "h", HostID: "machine-1"}, quiet())
	defer func() { _ = logs.Close(context.Background()) }()
	tag := testenv.UniqueName("otlp-host")
	r, err := journald.NewReader(journald.Config{IncludeContainer: regexp.MustCompile("^" + tag + "$"), Identifiers: []string{tag}, Start: journald.StartTail, Sink: logs, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	started := make(chan struct{})
	go func() { errc <- r.Run(ctx, func() { close(started) }) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()
	<-started

	// A native entry (with a facility), and a service's output from a process that
	// is still there when journald reads /proc for _EXE.
	cmd := exec.Command("logger", "--journald")
	cmd.Stdin = strings.NewReader("MESSAGE=native host record\nSYSLOG_IDENTIFIER=" + tag + "\nPRIORITY=4\nSYSLOG_FACILITY=3\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("logger --journald: %v: %s", err, out)
	}
	if out, err := exec.Command("systemd-cat", "-t", tag, "-p", "warning", "sh", "-c", "echo stream host record; sleep 0.5").CombinedOutput(); err != nil {
		t.Fatalf("systemd-cat: %v: %s", err, out)
	}
	got := map[string]otelcoltest.LogRecord{}
	testenv.Eventually(t, 20*time.Second, "both records at the Collector", func() bool {
		for _, l := range c.Logs() {
			if l.Attributes["syslog.identifier"] == tag {
				got[l.Body] = l
			}
		}
		return len(got) == 2
	})

	out, err := exec.Command("journalctl", "-o", "json", "--no-pager", "SYSLOG_IDENTIFIER="+tag).Output()
	if err != nil {
		t.Fatalf("journalctl: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var e map[string]string
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("journalctl's entry: %v", err)
		}
		g, ok := got[e["MESSAGE"]]
		if !ok {
			t.Fatalf("the Collector has no record %q", e["MESSAGE"])
		}
		checkHostRecord(t, g, e, tag)
	}
	if exe := got["stream host record"].Attributes["process.executable.name"]; exe != "dash" && exe != "sh" && exe != "bash" {
		t.Errorf("the shell's record: process.executable.name %v", exe)
	}
	if f := got["native host record"].Attributes["syslog.facility"]; f != int64(3) {
		t.Errorf("the native record: syslog.facility %#v, want 3", f)
	}
}

// checkHostRecord compares what the Collector stored of a host record with its
// journal entry e as journalctl prints it.
func checkHostRecord(t *testing.T, got otelcoltest.LogRecord, e map[string]string, tag string) {
	t.Helper()
	pid, _ := strconv.ParseInt(e["_PID"], 10, 64)
	// journald reads _EXE from /proc when the entry arrives: a logger that already
	// exited has none, and the record then no executable either.
	var exe, exeName, facility any
	if e["_EXE"] != "" {
		exe, exeName = e["_EXE"], path.Base(e["_EXE"])
	}
	if f, err := strconv.ParseInt(e["SYSLOG_FACILITY"], 10, 64); err == nil {
		facility = f
	}
	for what, v := range map[string][2]any{
		"resource service.name":        {got.Resource["service.name"], tag},
		"resource service.instance.id": {got.Resource["service.instance.id"], "machine-1"},
		"resource host.id":             {got.Resource["host.id"], "machine-1"},
		"resource host.name":           {got.Resource["host.name"], "h"},
		"severity":                     {got.SeverityNumber, 13},
		"process.pid":                  {got.Attributes["process.pid"], pid},
		"process.executable.path":      {got.Attributes["process.executable.path"], exe},
		"process.executable.name":      {got.Attributes["process.executable.name"], exeName},
		"syslog.identifier":            {got.Attributes["syslog.identifier"], tag},
		"syslog.facility":              {got.Attributes["syslog.facility"], facility},
		"journald._TRANSPORT":          {got.Attributes["journald._TRANSPORT"], e["_TRANSPORT"]},
		"journald._BOOT_ID":            {got.Attributes["journald._BOOT_ID"], e["_BOOT_ID"]},
		"log.record.uid":               {got.Attributes["log.record.uid"], e["__CURSOR"]},
	} {
		if v[0] != v[1] {
			t.Errorf("%q: %s = %#v, want %#v (journalctl's)", e["MESSAGE"], what, v[0], v[1])
		}
	}
	if u, ok := got.Resource["systemd.unit"]; ok && u != e["_SYSTEMD_UNIT"] {
		t.Errorf("resource systemd.unit = %v, journalctl's _SYSTEMD_UNIT %q", u, e["_SYSTEMD_UNIT"])
	}
	if _, ok := got.Resource["process.pid"]; ok {
		t.Errorf("process.pid on the resource: one provider per process")
	}
}

package journald

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/journald/journalconf"
	"github.com/podexporter/podexporter/journald/logparse"
	"github.com/podexporter/podexporter/logrecord"
)

func TestHostTerms(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"none", Config{}, ""},
		{"units", Config{Units: []string{"a.service", "b.service"}}, "_SYSTEMD_UNIT=a.service _SYSTEMD_UNIT=b.service"},
		{"identifiers", Config{Identifiers: []string{"sudo", "sshd"}}, "SYSLOG_IDENTIFIER=sudo SYSLOG_IDENTIFIER=sshd"},
		{"kernel", Config{Kernel: true}, "_TRANSPORT=kernel"},
		{"matches", Config{Matches: [][]string{{"_UID=0", "_COMM=su"}, {"A=1"}}}, "_UID=0 _COMM=su | A=1"},
		{"all, each its own term", Config{Units: []string{"a.service"}, Identifiers: []string{"sudo"}, Kernel: true, Matches: [][]string{{"A=1"}}},
			"_SYSTEMD_UNIT=a.service | SYSLOG_IDENTIFIER=sudo | _TRANSPORT=kernel | A=1"},
	} {
		var got []string
		for _, term := range hostTerms(&tc.cfg) {
			got = append(got, strings.Join(term, " "))
		}
		if g := strings.Join(got, " | "); g != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, g, tc.want)
		}
	}
}

// TestFieldTable: every field is read once, whichever uses name it: an extra field
// that is also a fixed one (the help's own example, _SYSTEMD_UNIT) is found where
// the fixed one is; the host records' fields are read only with a host selection.
func TestFieldTable(t *testing.T) {
	cfg := Config{ExtraFields: []string{"CODE_FILE", "_SYSTEMD_UNIT", "_PID"}}
	ft := newFieldTable(&cfg, nil)
	if !slices.Equal(ft.names[:nFixed], fixedFields[:]) {
		t.Fatalf("fixed fields moved: %q", ft.names)
	}
	if want := []int{nFixed, fUnit, nFixed + 1}; !slices.Equal(ft.extra, want) {
		t.Errorf("extra fields at %v, want %v", ft.extra, want)
	}
	if ft.host[hPID] != -1 || len(ft.names) != nFixed+2 {
		t.Errorf("host fields read without a host selection: %q", ft.names)
	}
	terms := [][]string{{"_PID=1", "TAG=x"}, {"SYSLOG_IDENTIFIER=a"}}
	ft = newFieldTable(&cfg, terms)
	if ft.host[hPID] != nFixed+1 || ft.names[ft.host[hExe]] != "_EXE" || ft.names[ft.host[hFacility]] != "SYSLOG_FACILITY" {
		t.Errorf("host fields: %v in %q", ft.host, ft.names)
	}
	seen := map[string]bool{}
	for _, n := range ft.names {
		if seen[n] {
			t.Errorf("%s read twice: %q", n, ft.names)
		}
		seen[n] = true
	}
	if !seen["TAG"] {
		t.Errorf("a match's field is not read: %q", ft.names)
	}
}

// hostTail is a tail over cfg whose entries the test sets field by field.
func hostTail(t *testing.T, cfg Config) (*tail, *collect) {
	t.Helper()
	sink := &collect{}
	cfg.Sink, cfg.Directory = sink, "/nonexistent"
	r, err := NewReader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r.newTail(), sink
}

// set makes the tail's current entry the given fields ("NAME=value"; a name may
// repeat, as in a journal entry), as the journal reader lays them out.
func (tl *tail) set(seq int, fields ...string) {
	e := rawEntry{realtime: uint64(fixtureStart.UnixMicro()) + uint64(seq), cursor: fmt.Sprintf("s=x;i=%x", seq), fields: make([][]byte, len(tl.r.fields.names))}
	for _, f := range fields {
		name, value, _ := strings.Cut(f, "=")
		i, ok := tl.r.fields.index[name]
		if !ok {
			continue // not read
		}
		if prev := e.fields[i]; prev != nil {
			e.more = append(e.more, fieldValue{i, prev})
		}
		e.fields[i] = []byte(value)
	}
	tl.e = e
}

func TestHostSelected(t *testing.T) {
	cfg := Config{
		Units:       []string{"ssh.service"},
		Identifiers: []string{"sudo", "su"},
		Kernel:      true,
		Matches:     [][]string{{"_UID=0", "_COMM=cron", "_COMM=anacron"}, {"TAG=one"}},
	}
	tl, _ := hostTail(t, cfg)
	for _, tc := range []struct {
		fields []string
		want   bool
	}{
		{[]string{"_SYSTEMD_UNIT=ssh.service"}, true},
		{[]string{"_SYSTEMD_UNIT=ssh.socket"}, false},
		{[]string{"SYSLOG_IDENTIFIER=su"}, true},
		{[]string{"SYSLOG_IDENTIFIER=sud"}, false},
		{[]string{"_TRANSPORT=kernel", "SYSLOG_IDENTIFIER=kernel"}, true},
		{[]string{"_TRANSPORT=syslog"}, false},
		{[]string{"_UID=0", "_COMM=anacron"}, true}, // values of one field: alternatives
		{[]string{"_UID=0"}, false},                 // fields: all apply
		{[]string{"_UID=1000", "_COMM=cron"}, false},
		{[]string{"TAG=two", "TAG=one"}, true}, // any of a repeated field's values
		{[]string{"TAG=one", "TAG=two"}, true},
		{[]string{"TAG=two", "TAG=three"}, false},
		{[]string{"_COMM=conmon", "MESSAGE=conmon's own"}, false},
		{nil, false},
	} {
		tl.set(1, tc.fields...)
		if got := tl.hostSelected(); got != tc.want {
			t.Errorf("%q: selected %v, want %v", tc.fields, got, tc.want)
		}
	}
}

// TestHandleHostEntries: a selected host entry becomes a host record with where it
// came from; conmon's own message is not one; a container line stays a container
// line (subject to the container filters) whatever host selection also matches it.
func TestHandleHostEntries(t *testing.T) {
	cfg := Config{Identifiers: []string{"sudo", "web"}, Kernel: true, Format: logparse.Auto /* the containers' format, not applied to host records */}
	tl, _ := hostTail(t, cfg)
	now := time.Now()
	tl.set(1, "MESSAGE=ERROR pam_unix(sudo:session): session opened", "PRIORITY=5", "SYSLOG_IDENTIFIER=sudo", "_PID=4242", "_EXE=/usr/bin/sudo",
		"_COMM=sudo", "_TRANSPORT=syslog", "SYSLOG_FACILITY=10", "_BOOT_ID="+bootA, "_HOSTNAME=h")
	tl.handle(now)
	tl.set(2, "MESSAGE=conmon 1 <ninfo>: exited", "PRIORITY=6", "_COMM=conmon", "SYSLOG_IDENTIFIER=conmon")
	tl.handle(now)
	tl.set(3, "MESSAGE=usb 1-1: new device", "PRIORITY=6", "_TRANSPORT=kernel", "SYSLOG_IDENTIFIER=kernel", "SYSLOG_FACILITY=0")
	tl.handle(now)
	tl.set(4, "MESSAGE=a web line\n", "PRIORITY=6", "_COMM=conmon", "CONTAINER_ID=0123456789ab", "CONTAINER_NAME=web", "SYSLOG_IDENTIFIER=web")
	tl.handle(now)
	if len(tl.batch) != 3 {
		t.Fatalf("%d records, want sudo's, the kernel's and the container line", len(tl.batch))
	}
	sudo, kernel, web := tl.batch[0], tl.batch[1], tl.batch[2]
	want := logrecord.HostEntry{PID: 4242, Exe: "/usr/bin/sudo", Comm: "sudo", Transport: "syslog", Facility: 10}
	if sudo.Host == nil || *sudo.Host != want || sudo.Identifier != "sudo" || sudo.BootID != bootA || sudo.Priority != 5 || sudo.Severity != 10 {
		t.Errorf("sudo's record: %+v, host %+v", sudo, sudo.Host)
	}
	if sudo.Parsed != nil || sudo.Body != "ERROR pam_unix(sudo:session): session opened" {
		t.Errorf("a host record was parsed per the containers' format: %+v", sudo.Parsed)
	}
	if want := (logrecord.HostEntry{Transport: "kernel", Facility: 0}); kernel.Host == nil || *kernel.Host != want {
		t.Errorf("kernel's record: host %+v, want %+v", kernel.Host, want)
	}
	if web.Host != nil || web.ContainerName != "web" || web.Stream != "stdout" {
		t.Errorf("the container line became a host record: %+v", web)
	}

	// Filtered as a container line: a host selection does not let it through.
	tl, _ = hostTail(t, Config{Identifiers: []string{"web"}, ExcludeContainer: regexp.MustCompile("^web$")})
	tl.set(1, "MESSAGE=a web line\n", "PRIORITY=6", "_COMM=conmon", "CONTAINER_ID=0123456789ab", "CONTAINER_NAME=web", "SYSLOG_IDENTIFIER=web")
	tl.handle(now)
	if len(tl.batch) != 0 {
		t.Errorf("an excluded container's line came through a host selection: %+v", tl.batch)
	}

	// The priority cap applies to host records as to container lines.
	three := 3
	tl, _ = hostTail(t, Config{Kernel: true, MaxPriority: &three})
	tl.set(1, "MESSAGE=info", "PRIORITY=6", "_TRANSPORT=kernel")
	tl.handle(now)
	tl.set(2, "MESSAGE=err", "PRIORITY=3", "_TRANSPORT=kernel")
	tl.handle(now)
	if len(tl.batch) != 1 || tl.batch[0].Body != "err" {
		t.Errorf("priority cap: %d records", len(tl.batch))
	}
}

// TestFromSettingsHostLogs: the host selections reach the reader, each match
// expression as its terms.
func TestFromSettingsHostLogs(t *testing.T) {
	s := journalconf.Settings{Start: "tail", MaxPriority: 7, Units: []string{"ssh.service"}, Identifiers: []string{"sudo"}, Kernel: true,
		Matches: []string{"_UID=0 _COMM=su", "A=1 + B=2"}}
	c, err := FromSettings(s)
	if err != nil {
		t.Fatal(err)
	}
	var terms []string
	for _, term := range hostTerms(&c) {
		terms = append(terms, strings.Join(term, " "))
	}
	if g, want := strings.Join(terms, " | "), "_SYSTEMD_UNIT=ssh.service | SYSLOG_IDENTIFIER=sudo | _TRANSPORT=kernel | _UID=0 _COMM=su | A=1 | B=2"; g != want {
		t.Errorf("host terms %s, want %s", g, want)
	}
	s.Matches = []string{"nonsense"}
	if _, err := FromSettings(s); err == nil {
		t.Error("a bad match was taken")
	}
}

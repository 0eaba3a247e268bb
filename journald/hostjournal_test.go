package journald

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/journald/journaltest"
	"github.com/podexporter/podexporter/logrecord"
)

// hostEntry is an entry of a host process, the i-th of its journal, with the fields
// journald adds about it.
func hostEntry(i int, msg string, fields ...[2]string) entry {
	f := append([][2]string{{"_BOOT_ID", bootA}, {"_HOSTNAME", "fixturehost"}, {"MESSAGE", msg}}, fields...)
	return entry{realtime: fixtureStart.Add(time.Duration(i) * time.Millisecond), boot: bootA, fields: f}
}

// fixtureHost is a journal of container lines and of the host's own entries of every
// kind a host selection picks: a unit's, syslog identifiers', the kernel's, custom
// fields (one of them twice in an entry), and conmon's own message.
func fixtureHost() []entry {
	proc := func(pid, exe, comm, transport, facility string) [][2]string {
		return [][2]string{{"_PID", pid}, {"_EXE", exe}, {"_COMM", comm}, {"_TRANSPORT", transport}, {"SYSLOG_FACILITY", facility}, {"_UID", "0"}}
	}
	var es []entry
	for i := range 240 {
		switch i % 12 {
		case 0, 6:
			es = append(es, line(i, "db", fmt.Sprintf("db %d", i)))
		case 1:
			es = append(es, line(i, "web", fmt.Sprintf("web %d", i)))
		case 2:
			es = append(es, hostEntry(i, fmt.Sprintf("Accepted publickey %d", i), append(proc("101", "/usr/sbin/sshd", "sshd", "syslog", "4"),
				[2]string{"_SYSTEMD_UNIT", "ssh.service"}, [2]string{"SYSLOG_IDENTIFIER", "sshd"}, [2]string{"PRIORITY", "6"})...))
		case 3:
			uid := "0"
			if i%24 == 3 {
				uid = "1000"
			}
			f := append(proc("202", "/usr/bin/sudo", "sudo", "syslog", "10"), [2]string{"SYSLOG_IDENTIFIER", "sudo"}, [2]string{"PRIORITY", "5"})
			f[5][1] = uid
			es = append(es, hostEntry(i, fmt.Sprintf("session opened %d by %s", i, uid), f...))
		case 4:
			prio := "4"
			if i%24 == 4 {
				prio = "6"
			}
			es = append(es, hostEntry(i, fmt.Sprintf("usb 1-1: device %d", i), [2]string{"_TRANSPORT", "kernel"}, [2]string{"SYSLOG_IDENTIFIER", "kernel"},
				[2]string{"SYSLOG_FACILITY", "0"}, [2]string{"PRIORITY", prio}))
		case 5:
			tenant := []string{"red", "blue", "green"}[i/12%3]
			es = append(es, hostEntry(i, fmt.Sprintf("app %s %d", tenant, i), append(proc("303", "/opt/app/bin/app", "app", "journal", "3"),
				[2]string{"SYSLOG_IDENTIFIER", "app"}, [2]string{"APP_TENANT", tenant}, [2]string{"PRIORITY", "3"})...))
		case 7:
			// A field twice: a match on either value selects the entry.
			es = append(es, hostEntry(i, fmt.Sprintf("tagged %d", i), append(proc("404", "/usr/bin/tagger", "tagger", "journal", "1"),
				[2]string{"TAG", "two"}, [2]string{"TAG", "one"}, [2]string{"PRIORITY", "6"})...))
		case 8:
			es = append(es, entry{realtime: fixtureStart.Add(time.Duration(i) * time.Millisecond), boot: bootA,
				fields: [][2]string{{"_COMM", "conmon"}, {"SYSLOG_IDENTIFIER", "conmon"}, {"MESSAGE", fmt.Sprintf("conmon %d <ninfo>: exited", i)}, {"PRIORITY", "6"}}})
		default:
			es = append(es, hostEntry(i, fmt.Sprintf("cron %d", i), append(proc("505", "/usr/sbin/cron", "cron", "syslog", "9"),
				[2]string{"SYSLOG_IDENTIFIER", "CRON"}, [2]string{"PRIORITY", "6"})...))
		}
	}
	return es
}

// journalctlJSON is every entry of the journal files in dir as journalctl prints it,
// by cursor: the reference for a host record's fields.
func journalctlJSON(t testing.TB, dir string, args ...string) map[string]map[string]any {
	t.Helper()
	a := []string{"-o", "json", "--no-pager"}
	if dir != "" {
		a = append(a, "-D", dir)
	}
	out, err := exec.Command("journalctl", append(a, args...)...).Output()
	if err != nil {
		t.Fatalf("journalctl %v: %v", args, err)
	}
	m := map[string]map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var e map[string]any
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		m[e["__CURSOR"].(string)] = e
	}
	return m
}

// checkHostFields compares each host record's fields with journalctl's entry.
func checkHostFields(t *testing.T, recs []logrecord.Record, ref map[string]map[string]any) {
	t.Helper()
	str := func(v any) string {
		if s, ok := v.(string); ok {
			return s
		}
		return ""
	}
	n := 0
	for _, r := range recs {
		if r.Host == nil {
			continue
		}
		e, ok := ref[r.Cursor]
		if !ok {
			t.Errorf("record %q: journalctl has no entry at %s", r.Body, r.Cursor)
			continue
		}
		pid, _ := strconv.Atoi(str(e["_PID"]))
		facility := -1
		if f, err := strconv.Atoi(str(e["SYSLOG_FACILITY"])); err == nil {
			facility = f
		}
		want := logrecord.HostEntry{PID: pid, Exe: str(e["_EXE"]), Comm: str(e["_COMM"]), Transport: str(e["_TRANSPORT"]), Facility: facility}
		if *r.Host != want || r.Identifier != str(e["SYSLOG_IDENTIFIER"]) || r.Unit != str(e["_SYSTEMD_UNIT"]) || r.BootID != str(e["_BOOT_ID"]) || r.Hostname != str(e["_HOSTNAME"]) {
			t.Errorf("record %q: host %+v identifier %q unit %q boot %q; journalctl: %+v %q %q %q", r.Body, *r.Host, r.Identifier, r.Unit, r.BootID,
				want, e["SYSLOG_IDENTIFIER"], e["_SYSTEMD_UNIT"], e["_BOOT_ID"])
		}
		n++
	}
	if n == 0 {
		t.Errorf("no host record to compare")
	}
}

// TestHostLogsAgainstJournalctl reads a journal with host selections besides a
// container filter and compares with what journalctl prints for the same matches:
// the same entries and cursors, only those read, and each host record's fields as
// journalctl has them.
func TestHostLogsAgainstJournalctl(t *testing.T) {
	dir := filepath.Dir(buildJournal(t, fixtureHost()))
	ref := journalctlJSON(t, dir)
	four := 4
	db := regexp.MustCompile("^db$")
	for _, tc := range []struct {
		name string
		cfg  Config
		args []string // journalctl's
	}{
		{"a unit", Config{Units: []string{"ssh.service"}}, []string{"_SYSTEMD_UNIT=ssh.service"}},
		{"identifiers", Config{Identifiers: []string{"sudo", "CRON"}}, []string{"SYSLOG_IDENTIFIER=sudo", "SYSLOG_IDENTIFIER=CRON"}},
		{"kernel", Config{Kernel: true}, []string{"_TRANSPORT=kernel"}},
		{"fields all applying", Config{Matches: [][]string{{"SYSLOG_IDENTIFIER=sudo", "_UID=0"}}}, []string{"SYSLOG_IDENTIFIER=sudo", "_UID=0"}},
		{"values of a field, alternatives", Config{Matches: [][]string{{"APP_TENANT=red", "APP_TENANT=blue"}}}, []string{"APP_TENANT=red", "APP_TENANT=blue"}},
		// libsystemd hands the values in the order of their data objects: one of them
		// is the earlier value, which the per-entry check must see too.
		{"a field an entry has twice, its first value", Config{Matches: [][]string{{"TAG=one"}}}, []string{"TAG=one"}},
		{"a field an entry has twice, its second value", Config{Matches: [][]string{{"TAG=two"}}}, []string{"TAG=two"}},
		{"everything, under a priority cap", Config{Units: []string{"ssh.service"}, Identifiers: []string{"sudo"}, Kernel: true,
			Matches: [][]string{{"APP_TENANT=green"}, {"TAG=one"}}, MaxPriority: &four},
			[]string{"-p", "4", "_SYSTEMD_UNIT=ssh.service", "+", "SYSLOG_IDENTIFIER=sudo", "+", "_TRANSPORT=kernel", "+", "APP_TENANT=green", "+", "TAG=one"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The container filter as journal matches too: db's lines and conmon's term.
			args := append([]string{"CONTAINER_NAME=db", "+"}, tc.args...)
			if tc.args[0] == "-p" {
				args = append([]string{"-p", "4", "CONTAINER_NAME=db", "+"}, tc.args[2:]...)
			}
			want := journalctlLines(t, dir, args...)
			cfg := tc.cfg
			cfg.Directory, cfg.Start, cfg.IncludeContainer, cfg.PartialTimeout = dir, StartHead, db, 20*time.Millisecond
			got, r := runReader(t, cfg, len(want))
			if g := recordLines(got); !slices.Equal(g, want) {
				t.Fatalf("reader delivered\n%s\njournalctl %v prints\n%s", strings.Join(g, "\n"), args, strings.Join(want, "\n"))
			}
			if s := r.Stats(); s.EntriesRead != uint64(len(want)) {
				t.Errorf("read %d entries for %d records; the others were not skipped by the journal matches", s.EntriesRead, len(want))
			}
			checkHostFields(t, got, ref)
		})
	}
}

// TestHostSelectionKeepsContainerFilters: a host selection that also matches a
// container's lines (conmon writes the container's name as SYSLOG_IDENTIFIER) does
// not let them past the container filters: they are container lines.
func TestHostSelectionKeepsContainerFilters(t *testing.T) {
	dir := filepath.Dir(buildJournal(t, fixtureHost()))
	want := journalctlLines(t, dir, "CONTAINER_NAME=db", "+", "SYSLOG_IDENTIFIER=sudo")
	if all := journalctlLines(t, dir, "CONTAINER_NAME=db", "+", "SYSLOG_IDENTIFIER=sudo", "SYSLOG_IDENTIFIER=web"); len(all) <= len(want) {
		t.Fatalf("the fixture has no web line that SYSLOG_IDENTIFIER=web selects")
	}
	got, _ := runReader(t, Config{Directory: dir, Start: StartHead, IncludeContainer: regexp.MustCompile("^db$"), Identifiers: []string{"sudo", "web"}, PartialTimeout: 20 * time.Millisecond}, len(want))
	if g := recordLines(got); !slices.Equal(g, want) {
		t.Fatalf("reader delivered\n%s\nwant db's lines and sudo's entries only:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

// writeEntries adds entries to w's journal as one new file, like write.
func (w *journalWriter) writeEntries(t *testing.T, es []entry) {
	t.Helper()
	name := fmt.Sprintf("part-%06d.journal", w.n)
	journaltest.WriteJournal(t, filepath.Join(w.tmp, name), exportFrom(es, w.n))
	if err := os.Rename(filepath.Join(w.tmp, name), filepath.Join(w.dir, name)); err != nil {
		t.Fatal(err)
	}
	w.n += len(es)
	testenv.Eventually(t, 10*time.Second, fmt.Sprintf("journalctl to show %d entries", w.n), func() bool {
		return len(journalctlLines(t, w.dir)) >= w.n
	})
}

// mixed is entries from w.n on: app containers' lines and sudo's, given as
// "name:message" ("sudo:..." for sudo's).
func (w *journalWriter) mixed(lines ...string) []entry {
	var es []entry
	for _, l := range lines {
		name, msg, _ := strings.Cut(l, ":")
		i := w.n + len(es)
		if name == "sudo" {
			es = append(es, hostEntry(i, msg, [2]string{"SYSLOG_IDENTIFIER", "sudo"}, [2]string{"_PID", "7"}, [2]string{"PRIORITY", "5"}))
			continue
		}
		es = append(es, line(i, name, msg))
	}
	return es
}

// TestHostMatchesSurviveRematch: when a new container name makes the reader set its
// matches again and go back, the host terms are set again with them: the host
// entries written meanwhile and after are delivered, each once; and a restart from
// the saved cursor delivers the rest, nothing lost or repeated.
func TestHostMatchesSurviveRematch(t *testing.T) {
	w := newJournalWriter(t)
	w.writeEntries(t, w.mixed(slices.Concat(seq("app-a", "a", 1, 20), seq("sudo", "s", 1, 5))...))
	cp := NewCheckpoint(filepath.Join(t.TempDir(), "cursor"))
	cfg := Config{Directory: w.dir, Start: StartHead, IncludeContainer: regexp.MustCompile("^app-"), Identifiers: []string{"sudo"}, Checkpoint: cp, BatchSize: 7}
	l, sink := startReader(t, cfg, listEvery(2*time.Second))
	testenv.Eventually(t, 10*time.Second, "25 records", func() bool { return len(sink.get()) >= 25 })

	w.writeEntries(t, w.mixed(slices.Concat(seq("app-b", "b", 1, 3), seq("sudo", "s", 6, 10), seq("app-a", "a", 21, 300), seq("sudo", "s", 11, 15), seq("app-b", "b", 4, 6))...))
	testenv.Eventually(t, 10*time.Second, "app-b's 6 lines", func() bool { return len(bodiesOf(sink.get(), "app-b")) >= 6 })
	testenv.Eventually(t, 10*time.Second, "sudo's s15", func() bool { return slices.Contains(bodies(sink.get()), "s15") })
	time.Sleep(300 * time.Millisecond)
	l.stop(t)
	if l.r.Stats().NameRematches == 0 {
		t.Fatalf("the names were not matched again: the test did not cover going back")
	}
	first := sink.get()

	w.writeEntries(t, w.mixed(slices.Concat(seq("sudo", "s", 16, 20), seq("app-c", "c", 1, 4), seq("app-a", "a", 301, 310))...))
	l2, sink2 := startReader(t, cfg, listEvery(0))
	testenv.Eventually(t, 10*time.Second, "a310", func() bool { return slices.Contains(bodies(sink2.get()), "a310") })
	time.Sleep(300 * time.Millisecond)
	l2.stop(t)

	// journalctl's lines, each delivered once by the two runs together; the order
	// differs only where the reader went back for app-b.
	ref := journalctlLines(t, w.dir, "CONTAINER_NAME=app-a", "CONTAINER_NAME=app-b", "CONTAINER_NAME=app-c", "+", "SYSLOG_IDENTIFIER=sudo")
	got := recordLines(slices.Concat(first, sink2.get()))
	if !slices.Equal(sorted(got), sorted(ref)) {
		t.Fatalf("the two runs delivered %d records, journalctl prints %d; missing %q, extra or repeated %q", len(got), len(ref), diff(ref, got), diff(got, ref))
	}
	var sudo []string
	for _, r := range slices.Concat(first, sink2.get()) {
		if r.Host != nil {
			sudo = append(sudo, r.Body)
		}
	}
	if !slices.Equal(sudo, want("s", 1, 20)) {
		t.Errorf("sudo's records %q, want s1..s20 in order", sudo)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// diff is what a holds more often than b.
func diff(a, b []string) []string {
	n := map[string]int{}
	for _, s := range b {
		n[s]++
	}
	var out []string
	for _, s := range a {
		if n[s] > 0 {
			n[s]--
			continue
		}
		out = append(out, s)
	}
	return out
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// hostLine is what the JSON lines sink writes of a host record.
type hostLine struct {
	Body       string `json:"body"`
	UID        string `json:"log.record.uid"`
	Identifier string `json:"syslog.identifier"`
	Unit       string `json:"systemd.unit"`
	Boot       string `json:"boot.id"`
	PID        int    `json:"process.pid"`
	Exe        string `json:"process.executable.path"`
	Facility   *int   `json:"syslog.facility"`
	Transport  string `json:"transport"`
	Container  string `json:"container.id"`
	Priority   *int   `json:"priority"`
}

func readHostLines(t *testing.T, path string) []hostLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []hostLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var l hostLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

// journalEntries is what journalctl prints of the local journal for args, in order.
func journalEntries(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	out, err := exec.Command("journalctl", append([]string{"--no-pager", "-o", "json"}, args...)...).Output()
	if err != nil {
		t.Fatalf("journalctl %v: %v", args, err)
	}
	var es []map[string]any
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var e map[string]any
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	return es
}

func writeJournal(t *testing.T, stdin string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

// TestHostLogsThroughDaemon runs the daemon with host selections by flag and the JSON
// lines sink, stops it and starts it again from its saved cursor: the file then
// holds, each once and in journal order, exactly the entries journalctl prints for
// the same matches, with the fields journalctl shows.
func TestHostLogsThroughDaemon(t *testing.T) {
	testenv.RequireJournald(t)
	testenv.RequireRoot(t) // writes /dev/kmsg
	testenv.RequireTool(t, "systemd-cat")
	testenv.RequireTool(t, "logger")
	tag := testenv.UniqueName("daemon-host")
	out := filepath.Join(t.TempDir(), "logs.jsonl")
	args := []string{"--state.directory=" + t.TempDir(), "--journal.sink=jsonl", "--journal.output=" + out, "--journal.start=tail", "--journal.batch-size=4",
		"--journal.include-container=^" + tag + "$", "--journal.identifiers=" + tag, "--journal.kernel",
		"--journal.match=SYSLOG_IDENTIFIER=" + tag + "-m PODEXPORTER_TEST=red", "--journal.match=PODEXPORTER_TEST=blue SYSLOG_IDENTIFIER=" + tag + "-m"}
	ref := []string{"SYSLOG_IDENTIFIER=" + tag, "+", "_TRANSPORT=kernel", "+", "SYSLOG_IDENTIFIER=" + tag + "-m", "PODEXPORTER_TEST=red", "PODEXPORTER_TEST=blue"}

	part := func(n int) {
		t.Helper()
		writeJournal(t, fmt.Sprintf("line %d.1\nline %d.2\n", n, n), "systemd-cat", "-t", tag)
		for _, v := range []string{"red", "blue", "green"} {
			writeJournal(t, fmt.Sprintf("MESSAGE=custom %s %d\nSYSLOG_IDENTIFIER=%s-m\nPODEXPORTER_TEST=%s\nSYSLOG_FACILITY=16\n", v, n, tag, v), "logger", "--journald")
		}
		if err := os.WriteFile("/dev/kmsg", fmt.Appendf(nil, "<3>%s-k: kernel %d\n", tag, n), 0); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 10*time.Second, "journalctl to show the part", func() bool {
			return len(testenv.Journal(t, "SYSLOG_IDENTIFIER="+tag+"-k")) >= n && len(testenv.Journal(t, "SYSLOG_IDENTIFIER="+tag+"-m")) >= 3*n
		})
		writeJournal(t, fmt.Sprintf("end %d\n", n), "systemd-cat", "-t", tag)
	}
	has := func(body string) func() bool {
		return func() bool {
			return slices.ContainsFunc(readHostLines(t, out), func(l hostLine) bool { return l.Body == body })
		}
	}

	d := startDaemon(t, nil, args...)
	writeJournal(t, "start\n", "systemd-cat", "-t", tag)
	part(1)
	testenv.Eventually(t, 20*time.Second, "the first part's end in the file", has("end 1"))
	if _, err := d.stop(t); err != nil {
		t.Fatalf("podexporter exited with %v:\n%s", err, d.stderr)
	}
	part(2)
	d = startDaemon(t, nil, args...)
	testenv.Eventually(t, 20*time.Second, "the second part's end in the file", has("end 2"))
	if _, err := d.stop(t); err != nil {
		t.Fatalf("podexporter exited with %v:\n%s", err, d.stderr)
	}

	lines := readHostLines(t, out)
	first := slices.IndexFunc(lines, func(l hostLine) bool { return l.Body == "start" })
	last := slices.IndexFunc(lines, func(l hostLine) bool { return l.Body == "end 2" })
	if first < 0 || last < first {
		t.Fatalf("the file lacks the start or the end: %d lines", len(lines))
	}
	lines = lines[first : last+1]
	want := journalEntries(t, append([]string{"--cursor=" + lines[0].UID}, ref...)...)
	end := slices.IndexFunc(want, func(e map[string]any) bool { return e["__CURSOR"] == lines[len(lines)-1].UID })
	if end < 0 {
		t.Fatalf("journalctl does not reach the file's last line")
	}
	want = want[:end+1]
	var got, exp []string
	for _, l := range lines {
		got = append(got, l.Body+"|"+l.UID)
	}
	for _, e := range want {
		m, _ := e["MESSAGE"].(string)
		exp = append(exp, m+"|"+e["__CURSOR"].(string))
	}
	if !slices.Equal(got, exp) {
		t.Fatalf("the file holds\n%s\njournalctl %v prints\n%s", strings.Join(got, "\n"), ref, strings.Join(exp, "\n"))
	}

	str := func(v any) string { s, _ := v.(string); return s }
	counts := map[string]int{}
	for i, l := range lines {
		e := want[i]
		pid, _ := strconv.Atoi(str(e["_PID"]))
		facility := -1
		if l.Facility != nil {
			facility = *l.Facility
		}
		wantFacility := -1
		if f, err := strconv.Atoi(str(e["SYSLOG_FACILITY"])); err == nil {
			wantFacility = f
		}
		if l.PID != pid || l.Exe != str(e["_EXE"]) || l.Transport != str(e["_TRANSPORT"]) || facility != wantFacility ||
			l.Identifier != str(e["SYSLOG_IDENTIFIER"]) || l.Unit != str(e["_SYSTEMD_UNIT"]) || l.Boot != str(e["_BOOT_ID"]) || l.Container != "" {
			t.Errorf("line %q: %+v; journalctl's entry: %v", l.Body, l, e)
		}
		counts[l.Identifier+" "+l.Transport]++
	}
	for k, n := range map[string]int{tag + " stdout": 7, tag + "-m journal": 4, tag + "-k kernel": 2} {
		if counts[k] != n {
			t.Errorf("%d lines of %s, want %d", counts[k], k, n)
		}
	}
}

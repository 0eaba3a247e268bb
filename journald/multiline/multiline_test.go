package multiline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// join simulates the journal reader on one container stream: it keeps the record
// being joined, appends each line that continues it, and returns the records as
// the reader flushes them, lines joined with "\n" and trailing newlines trimmed.
func join(r Rule, lines []string) []string {
	var (
		records []string
		rec     strings.Builder
		s       State
		pending bool
	)
	flush := func() {
		if pending {
			records = append(records, strings.TrimRight(rec.String(), "\n"))
		}
	}
	for _, line := range lines {
		if pending {
			if next, ok := r.Continue(s, line); ok {
				s = next
				rec.WriteByte('\n')
				rec.WriteString(line)
				continue
			}
		}
		flush()
		rec.Reset()
		rec.WriteString(line)
		s, pending = r.Start(line), true
	}
	flush()
	return records
}

// joinCase is lines and the records a rule should make of them.
type joinCase struct {
	name  string
	lines []string
	want  []string
}

func testJoin(t *testing.T, r Rule, cases []joinCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertRecords(t, join(r, tc.lines), tc.want)
		})
	}
}

// sample is a testdata file (verbatim program output, see testdata/README.md)
// and the lines, counted from 1, that begin its records.
type sample struct {
	file   string
	starts []int
}

func testSamples(t *testing.T, r Rule, samples []sample) {
	t.Helper()
	for _, sm := range samples {
		t.Run(sm.file, func(t *testing.T) {
			lines := readLines(t, sm.file)
			assertRecords(t, join(r, lines), records(t, lines, sm.starts))
		})
	}
}

// readLines reads a testdata file as the reader receives it: lines without their
// newlines.
func readLines(t testing.TB, file string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// records cuts lines into the records that begin at starts (counted from 1).
func records(t *testing.T, lines []string, starts []int) []string {
	t.Helper()
	if len(starts) == 0 || starts[0] != 1 {
		t.Fatalf("starts %v: the first record begins at line 1", starts)
	}
	var out []string
	for i, from := range starts {
		to := len(lines) + 1
		if i+1 < len(starts) {
			to = starts[i+1]
		}
		if to <= from || to > len(lines)+1 {
			t.Fatalf("starts %v: out of order or past the %d lines", starts, len(lines))
		}
		out = append(out, strings.TrimRight(strings.Join(lines[from-1:to-1], "\n"), "\n"))
	}
	return out
}

func assertRecords(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\x00") == strings.Join(want, "\x00") {
		return
	}
	t.Errorf("got %d records, want %d", len(got), len(want))
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("record %d:\n got: %s\nwant: %s", i+1, quoteLines(g), quoteLines(w))
		}
	}
}

// quoteLines shows a record a line a row, so that a diff shows where it was cut.
func quoteLines(rec string) string {
	return "| " + strings.ReplaceAll(rec, "\n", "\n      | ")
}

// ordinary are single-line logs of the usual shapes: none is part of a trace.
var ordinary = []string{
	`{"level":"info","ts":"2026-12-02T15:55:29.836Z","msg":"request served","status":200,"path":"/api/orders"}`,
	`time=2026-12-02T15:55:29.836Z level=error msg="connection refused" err="dial tcp 10.0.0.7:5432: connect: connection refused"`,
	`10.88.0.1 - - [02/Dec/2026:15:55:29 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.31"`,
	`2026-12-02 15:55:29.836 INFO  [main] com.example.billing.InvoiceJob - invoice run started: 2 accounts`,
	`2026/12/02 15:55:29 listening on :8080 (pid 1)`,
	`ERROR: relation "orders" does not exist at character 15`,
	`I1202 15:55:29.836123       1 controller.go:117] Starting EndpointSlice controller`,
	`[2026-12-02 15:55:29 +0000] [1] [INFO] Booting worker with pid: 7`,
	`ValidationError: field "email" is required`,
	`main.go:12: retrying (attempt 2)`,
	`Error: something failed`,
	``,
}

package journald

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/journald/multiline"
	"github.com/podexporter/podexporter/logrecord"
)

// tracebackScript prints n records to stdout, every fifth a Python traceback whose
// middle frame, every fiftieth time, is long enough for conmon to split, and between
// them lines on stderr that must stay apart. Record i's text is tracebackRecord(i).
func tracebackScript(n int) string {
	return fmt.Sprintf(`BEGIN {
	s = "x"; while (length(s) < 20000) s = s s
	for (i = 0; i < %d; i++) {
		if (i %% 5 != 0) { print "INFO line " i; continue }
		print "ERROR:root:failed " i
		print "Traceback (most recent call last):"
		print "  File \"/app/main.py\", line " i ", in <module>"
		if (i %% 50 == 0) print "    handle(" substr(s, 1, 20000) ")"; else print "    handle()"
		print "ValueError: boom " i
		print "stderr " i > "/dev/stderr"
	}
}`, n)
}

func tracebackRecord(i int) string {
	if i%5 != 0 {
		return fmt.Sprintf("INFO line %d", i)
	}
	frame := "    handle()"
	if i%50 == 0 {
		frame = "    handle(" + strings.Repeat("x", 20000) + ")"
	}
	return strings.Join([]string{fmt.Sprintf("ERROR:root:failed %d", i), "Traceback (most recent call last):",
		fmt.Sprintf(`  File "/app/main.py", line %d, in <module>`, i), frame, fmt.Sprintf("ValueError: boom %d", i)}, "\n")
}

// TestMultilineFromRealJournal reads an exited container's tracebacks back from the
// real journal while behind, with looks at the pending records every few entries and
// small batches, and stops half-way to resume from the saved cursor: every record
// arrives whole (its split frame joined, the traceback one record, stderr apart), none
// is lost, a restart repeats at most the batches in flight, and the lines counted
// match journalctl's.
func TestMultilineFromRealJournal(t *testing.T) {
	testenv.RequireJournald(t)
	p := testenv.RequirePodman(t)
	const records = 400
	name := testenv.UniqueName("pytrace")
	began := time.Now()
	p.Run(t, name, []string{"--label", LabelMultiline + "=python"}, "busybox", "awk", tracebackScript(records))
	podmanWait(t, name)
	last := fmt.Sprintf("INFO line %d", records-1)
	testenv.Eventually(t, 30*time.Second, "journalctl to show the last line", func() bool { return journalHas(t, name, last) })
	stdoutLines := journalCount(t, "CONTAINER_NAME="+name, "PRIORITY=6") - journalCount(t, "CONTAINER_NAME="+name, "PRIORITY=6", "CONTAINER_PARTIAL_MESSAGE=true")

	rule, err := multiline.Parse("python")
	if err != nil {
		t.Fatal(err)
	}
	ckpt := NewCheckpoint(filepath.Join(t.TempDir(), "journal.cursor"))
	want := map[string]int{}
	for i := range records {
		want[tracebackRecord(i)]++
		if i%5 == 0 {
			want[fmt.Sprintf("stderr %d", i)]++
		}
	}
	var got []logrecord.Record
	// run reads until enough records arrived, or with enough < 0 until every record
	// has arrived over both runs.
	run := func(enough int) uint64 {
		sink := &collect{}
		r, err := NewReader(Config{
			Sink: sink, IncludeContainer: regexp.MustCompile("^" + name + "$"), Checkpoint: ckpt,
			Enricher: labelEnricher{}, Multiline: rule,
			Start: StartSince, Since: time.Since(began) + 5*time.Second, BatchSize: 13, InFlight: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		r.checkEvery = 7
		l := runLive(t, r, sink)
		testenv.Eventually(t, 60*time.Second, "the records", func() bool {
			recs := sink.get()
			if enough > 0 {
				return len(recs) >= enough
			}
			seen := map[string]bool{}
			for _, r := range append(recs, got...) {
				seen[r.Body] = true
			}
			return len(seen) >= len(want)
		})
		l.stop(t)
		got = append(got, sink.get()...)
		var lines uint64
		for _, c := range r.Stats().Containers {
			if c.Stream == "stdout" {
				lines += c.Lines
			}
		}
		return lines
	}
	// The label's rule would apply through an Enricher that knows it; this one knows
	// nothing, so the Config's rule (the same, python) is what joins.
	first := run(records / 2)
	// The first run stopped with lines open (each stream's last record waits for its
	// next line): the restart has entries to skip, which is what is under test.
	if text, err := ckpt.load(); err != nil || !strings.Contains(text, "\nopen ") {
		t.Fatalf("checkpoint after the first run: %q, %v; want open lines", text, err)
	}
	rest := run(-1)
	seen := map[string]int{}
	for _, r := range got {
		if want[r.Body] == 0 {
			t.Fatalf("record not among those printed (split or joined wrong): %.120q (lines %d, pieces %d)", r.Body, r.Lines, r.Pieces)
		}
		seen[r.Body]++
	}
	dups, dupLines := 0, 0
	for body, n := range want {
		if seen[body] < n {
			t.Fatalf("record lost: %.80q", body)
		}
		dups += seen[body] - n
		if !strings.HasPrefix(body, "stderr") {
			dupLines += (seen[body] - n) * (strings.Count(body, "\n") + 1)
		}
	}
	// Two batches in flight and the one being filled, of 13 records each.
	if dups > 3*13 {
		t.Errorf("%d records repeated across the restart, want at most the batches in flight (39)", dups)
	}
	// Lines counted over both runs against journalctl's, plus the repeated records'.
	if n := first + rest; n < uint64(stdoutLines) || n > uint64(stdoutLines+dupLines) {
		t.Errorf("stdout lines counted %d, journalctl has %d and %d were repeated", n, stdoutLines, dupLines)
	}
}

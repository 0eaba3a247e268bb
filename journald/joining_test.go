package journald

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
	"github.com/podexporter/podexporter/logrecord"
)

// exitedEnricher says every container has exited, as Podman does for one read back
// from the journal long after it stopped.
type exitedEnricher struct{}

func (exitedEnricher) Container(string) (logrecord.ContainerInfo, bool) {
	return logrecord.ContainerInfo{Exited: true}, true
}

// feed hands the tail one conmon entry written at usec (journal time).
func feed(tl *tail, seq int, usec uint64, msg string, partial bool) {
	fields := make([][]byte, nFixed)
	fields[fMessage] = []byte(msg)
	fields[fPriority] = []byte("6")
	fields[fContainerID] = []byte("0123456789ab")
	fields[fContainerName] = []byte("web")
	if partial {
		fields[fPartial] = []byte("true")
	}
	tl.e = rawEntry{realtime: usec, cursor: fmt.Sprintf("s=x;i=%x", seq), fields: fields}
	tl.handle(time.Now())
}

// TestPartialFlushFollowsJournal: while behind, a line being joined is flushed only
// when the journal's own time says its next piece is overdue; a container's present
// state (exited) and the wall clock count only once the reader has caught up.
func TestPartialFlushFollowsJournal(t *testing.T) {
	const start = uint64(1_700_000_000_000_000)
	cases := []struct {
		name string
		// check runs the look the reader takes between entries.
		check       func(tl *tail)
		wantFlushed bool
	}{
		{"behind, container exited, next entry 10 ms later in the journal", func(tl *tail) { tl.flushPartialsBehind(start + 10_000) }, false},
		{"behind, next entry 1.9 s later", func(tl *tail) { tl.flushPartialsBehind(start + 1_900_000) }, false},
		{"behind, next entry 2 s later: the timeout in journal time", func(tl *tail) { tl.flushPartialsBehind(start + 2_000_000) }, true},
		{"behind, an entry older than the piece (clock step)", func(tl *tail) { tl.flushPartialsBehind(start - 5_000_000) }, false},
		{"caught up, container exited", func(tl *tail) { tl.flushPartialsLive(time.Now()) }, true},
		{"caught up, wall-clock timeout", func(tl *tail) { tl.flushPartialsLive(time.Now().Add(3 * time.Second)) }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sink := &collect{}
			r, err := NewReader(Config{Sink: sink, Directory: "/nonexistent", PartialTimeout: 2 * time.Second, Enricher: exitedEnricher{}})
			if err != nil {
				t.Fatal(err)
			}
			tl := r.newTail()
			feed(tl, 1, start, "first ", true)
			c.check(tl)
			if flushed := len(tl.batch) == 1; flushed != c.wantFlushed {
				t.Fatalf("flushed %v, want %v (batch %d records)", flushed, c.wantFlushed, len(tl.batch))
			}
			if c.wantFlushed {
				return
			}
			feed(tl, 2, start+20_000, "last\n", false)
			if len(tl.batch) != 1 || tl.batch[0].Body != "first last" || tl.batch[0].Pieces != 2 {
				t.Fatalf("got %d records, first %+v; want one line joined from two pieces", len(tl.batch), tl.batch)
			}
		})
	}
}

// TestLiveSplitLinesAfterExit reads back an exited container's lines, one in ten of
// them long enough for conmon to split, with the reader behind the journal and taking
// a look at its pending lines every few entries: every line arrives whole, once, and
// is counted once.
func TestLiveSplitLinesAfterExit(t *testing.T) {
	testenv.RequireJournald(t)
	p := testenv.RequirePodman(t)
	const lines, longEvery, longBytes = 3001, 10, 20000 // the last line short: journalctl shows it whole
	name := testenv.UniqueName("split")
	began := time.Now()
	p.Run(t, name, nil, "busybox", "awk", fmt.Sprintf(
		`BEGIN { s = "L"; while (length(s) < %d) s = s s; for (i = 1; i <= %d; i++) if (i %% %d == 0) print i ":" substr(s, 1, %d); else print "line " i }`,
		longBytes, lines, longEvery, longBytes))
	podmanWait(t, name)
	testenv.Eventually(t, 30*time.Second, "journalctl to show the last line", func() bool {
		return journalHas(t, name, fmt.Sprintf("line %d", lines))
	})
	pieces := journalCount(t, "CONTAINER_NAME="+name, "CONTAINER_PARTIAL_MESSAGE=true")
	if pieces < lines/longEvery {
		t.Fatalf("conmon split %d pieces; every %d-byte line should be split", pieces, longBytes)
	}

	sink := &collect{}
	cfg := Config{
		Sink: sink, IncludeContainer: regexp.MustCompile("^" + name + "$"), Enricher: exitedEnricher{},
		Start: StartSince, Since: time.Since(began) + 5*time.Second, BatchSize: 97,
	}
	r, err := NewReader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.checkEvery = 7 // a look at the pending lines every few entries, never mid-way by luck
	l := runLive(t, r, sink)
	testenv.Eventually(t, 60*time.Second, "every line", func() bool { return len(sink.get()) >= lines })
	time.Sleep(2500 * time.Millisecond) // past the partial timeout: a stray piece would show
	l.stop(t)

	got := sink.get()
	if len(got) != lines {
		t.Fatalf("delivered %d records for %d lines (%d split pieces in the journal)", len(got), lines, pieces)
	}
	long := strings.Repeat("L", longBytes)
	for i, rec := range got {
		n := i + 1
		want := "line " + strconv.Itoa(n)
		if n%longEvery == 0 {
			want = strconv.Itoa(n) + ":" + long
		}
		if rec.Body != want {
			t.Fatalf("record %d: %d bytes starting %.40q (pieces %d); want %d bytes starting %.40q", i, len(rec.Body), rec.Body, rec.Pieces, len(want), want)
		}
	}
	var counted uint64
	for _, c := range r.Stats().Containers {
		if c.Name == name {
			counted += c.Lines
		}
	}
	if counted != lines {
		t.Fatalf("podman_container_log_lines_total counts %d lines, want %d", counted, lines)
	}
	if out, err := exec.Command("podman", "inspect", "--format", "{{.State.Status}}", name).Output(); err != nil || strings.TrimSpace(string(out)) != "exited" {
		t.Fatalf("the container should have exited before the reader began: %q %v", out, err)
	}
}

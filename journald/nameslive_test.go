package journald

import (
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// TestLiveNewNameAcrossRotation: with an include filter, containers whose names
// first appear in a journal file created by a rotation, and in the file that was
// active before it, are read from their first line, as journalctl shows them. The
// reader's name lister must take up the new file and list the rotated one a last
// time.
func TestLiveNewNameAcrossRotation(t *testing.T) {
	testenv.RequireJournaldExclusive(t)
	p := testenv.RequirePodman(t)
	prefix := testenv.UniqueName("rotname")
	l := startLive(t, Config{IncludeContainer: regexp.MustCompile("^" + prefix + "-"), BatchSize: 50}, &collect{})
	rotate := func() {
		t.Helper()
		if out, err := exec.Command("journalctl", "--rotate").CombinedOutput(); err != nil {
			t.Fatalf("journalctl --rotate: %v: %s", err, out)
		}
	}
	run := func(n string, lines int) {
		t.Helper()
		p.Run(t, prefix+"-"+n, nil, "busybox", "seq", "1", strconv.Itoa(lines))
		podmanWait(t, prefix+"-"+n)
	}
	run("a", 100)
	testenv.Eventually(t, 20*time.Second, "a's 100 lines", func() bool { return len(bodiesOf(l.sink.get(), prefix+"-a")) >= 100 })
	rotate()
	run("b", 300) // first seen in the new file
	run("c", 50)
	rotate() // b and c's file is archived right after
	run("d", 20)
	for _, n := range []string{"b", "c", "d"} {
		name := prefix + "-" + n
		want := testenv.Journal(t, "CONTAINER_NAME="+name)
		if len(want) == 0 {
			t.Fatalf("journalctl shows no line of %s", name)
		}
		testenv.Eventually(t, 30*time.Second, name+"'s lines", func() bool { return len(bodiesOf(l.sink.get(), name)) >= len(want) })
	}
	time.Sleep(500 * time.Millisecond) // room for a duplicate to show
	l.stop(t)
	for _, n := range []string{"a", "b", "c", "d"} {
		name := prefix + "-" + n
		if got, want := bodiesOf(l.sink.get(), name), testenv.Journal(t, "CONTAINER_NAME="+name); !slices.Equal(got, want) {
			t.Errorf("%s: %d lines delivered, journalctl shows %d; they differ", name, len(got), len(want))
		}
	}
}

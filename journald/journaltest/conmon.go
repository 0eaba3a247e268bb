// Package journaltest holds what the journal benchmarks of several packages share:
// the cached conmon-shaped journal and the raw sdjournal loop they are all measured
// against. Only tests import it.
package journaltest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/sdjournal"
)

// BenchEntries is the size of the benchmark journal: large enough that a run takes
// seconds, so per-run setup does not show in the rates.
const BenchEntries = 500000

// JournalRemote writes journal files with the same code journald uses.
// JournalRemote turns journal export format into a journal file (Debian package
// systemd-journal-remote).
const JournalRemote = "/lib/systemd/systemd-journal-remote"

// The identities below are those of the journald package's fixtures, so that the
// cached journal is byte for byte what its benchmarks were first measured on.
const (
	bootID    = "0123456789abcdef0123456789abcdef"
	machineID = "3d1219c7c4c5404aaa1f6d2a48adfda4"
)

var (
	containerIDs   = []string{"aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111", "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222", "cccccccccccc3333333333333333333333333333333333333333333333333333", "dddddddddddd4444444444444444444444444444444444444444444444444444"}
	containerNames = []string{"web", "db", "worker", FilterTarget}
)

// ConmonJournal returns a directory holding a journal of entries entries shaped like
// conmon's (three containers, every tenth line at priority 3, each entry with its
// ~1.6 KB _CMDLINE), built once with systemd-journal-remote and kept under the
// temporary directory across runs, since building it takes a while.
func ConmonJournal(tb testing.TB, entries int) string {
	tb.Helper()
	return cachedJournal(tb, fmt.Sprintf("podexporter-bench-conmon-%d-v1", entries), entries, func(i int) int { return i % 3 }, accessLine)
}

// JSONJournal is ConmonJournal with every MESSAGE a JSON log line of about 250
// bytes, shaped like zap's or slog's (time, level, msg, trace and span ids, a few
// typed fields): the journal the structured-log benchmarks parse.
func JSONJournal(tb testing.TB, entries int) string {
	tb.Helper()
	return cachedJournal(tb, fmt.Sprintf("podexporter-bench-json-%d-v1", entries), entries, func(i int) int { return i % 3 }, jsonLine)
}

// accessLine is ConmonJournal's MESSAGE, kept byte for byte.
func accessLine(name string, i int, _ time.Time) string {
	return fmt.Sprintf("%s line %d: GET /api/v1/items?page=%d 200 1532 bytes in 3ms", name, i, i%97)
}

var jsonLevels = [...]string{"info", "info", "info", "debug", "warn", "info", "error", "info"}

func jsonLine(name string, i int, t time.Time) string {
	return fmt.Sprintf(`{"time":"%s","level":"%s","msg":"request served","service":"%s","method":"GET","path":"/api/v1/items","page":%d,"status":200,"duration_ms":%d.%03d,"trace_id":"%032x","span_id":"%016x"}`,
		t.UTC().Format(time.RFC3339Nano), jsonLevels[i%len(jsonLevels)], name, i%97, i%50, i%1000, i+1, i+1)
}

// FilterTarget is the container whose lines FilterJournal spreads among the others'.
const FilterTarget = "target"

// FilterJournal returns a cached journal holding target lines of the container
// FilterTarget spread evenly among others lines of three other containers (web, db,
// worker), shaped like ConmonJournal's: the case of a reader that ships one
// container out of a busy journal.
func FilterJournal(tb testing.TB, target, others int) string {
	tb.Helper()
	total := target + others
	return cachedJournal(tb, fmt.Sprintf("podexporter-bench-filter-%d-%d-v1", target, others), total, func(i int) int {
		// Entry i is the target's when it crosses the next multiple of total/target.
		if (i+1)*target/total != i*target/total {
			return 3
		}
		return i % 3
	}, accessLine)
}

// cachedJournal builds, once, a journal in the temporary directory under name, whose
// entry i is of container pick(i) (an index into containerNames, 3 being the target)
// with the MESSAGE msg writes.
func cachedJournal(tb testing.TB, name string, entries int, pick func(int) int, msg func(name string, i int, t time.Time) string) string {
	tb.Helper()
	dir := filepath.Join(os.TempDir(), name)
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return dir
	}
	if _, err := os.Stat(JournalRemote); err != nil {
		tb.Fatalf("%s is missing; fix: apt-get install systemd-journal-remote (scripts/testhost.sh does)", JournalRemote)
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(JournalRemote, "-o", filepath.Join(dir, "bench.journal"), "-")
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if out, err := os.Create(filepath.Join(dir, "journal-remote.log")); err == nil {
		cmd.Stdout, cmd.Stderr = out, out
		defer out.Close()
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(in, 1<<20)
	cmdlines := make([]string, len(containerIDs))
	for c, id := range containerIDs {
		cmdlines[c] = Cmdline(id)
	}
	start := time.Now().Add(-time.Hour)
	for i := range entries {
		c := pick(i)
		t := start.Add(time.Duration(i) * 5 * time.Microsecond)
		prio := "6"
		if i%10 == 0 {
			prio = "3"
		}
		fmt.Fprintf(w, "__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n_MACHINE_ID=%s\n_HOSTNAME=benchhost\n"+
			"PRIORITY=%s\n_UID=0\n_GID=0\n_CAP_EFFECTIVE=1fffeffffff\n_TRANSPORT=journal\nCODE_FILE=src/ctr_logging.c\nCODE_LINE=326\nCODE_FUNC=write_journald\n"+
			"_COMM=conmon\n_EXE=/usr/bin/conmon\nMESSAGE=%s\nCONTAINER_ID_FULL=%s\nCONTAINER_ID=%s\n"+
			"CONTAINER_NAME=%s\nSYSLOG_IDENTIFIER=%s\n_PID=%d\n_CMDLINE=%s\n_SOURCE_REALTIME_TIMESTAMP=%d\n\n",
			t.UnixMicro(), 1000000+i*5, bootID, machineID, prio, msg(containerNames[c], i, t), containerIDs[c], containerIDs[c][:12],
			containerNames[c], containerNames[c], 4000+c, cmdlines[c], t.UnixMicro()-200)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		tb.Fatalf("systemd-journal-remote: %v (log in %s)", err, dir)
	}
	if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// Cmdline is a conmon command line of about 1.6 KB, as real entries carry.
func Cmdline(id string) string {
	var b bytes.Buffer
	b.WriteString("/usr/bin/conmon --api-version 1 -c " + id + " -u " + id + " -r /usr/bin/runc -b /var/lib/containers/storage/overlay-containers/" + id + "/userdata")
	for b.Len() < 1600 {
		b.WriteString(" --exit-command-arg --storage-opt --exit-command-arg overlay.mountopt=nodev " + id[:16])
	}
	return b.String()
}

// CPUTime is the CPU time, user plus system, this process has used so far.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// RawRead is one pass of ReadRaw: entries read, and the wall and process CPU time
// of the reading loop alone (opening and closing the journal excluded).
type RawRead struct {
	Entries   int
	Wall, CPU time.Duration
}

// ReadRaw is the reference reader: go-systemd's sdjournal reading what any shipper
// needs (MESSAGE, PRIORITY, container id and name, realtime, cursor) from every
// conmon entry of the journal in dir, building nothing.
func ReadRaw(dir string) (RawRead, error) {
	j, err := sdjournal.NewJournalFromDir(dir)
	if err != nil {
		return RawRead{}, err
	}
	defer j.Close()
	// Without it fields over 64 KiB come back truncated, which a shipper cannot accept.
	if err := j.SetDataThreshold(0); err != nil {
		return RawRead{}, err
	}
	if err := j.AddMatch("_COMM=conmon"); err != nil {
		return RawRead{}, err
	}
	if err := j.SeekHead(); err != nil {
		return RawRead{}, err
	}
	var res RawRead
	t0, c0 := time.Now(), CPUTime()
	for {
		r, err := j.Next()
		if err != nil {
			return res, err
		}
		if r == 0 {
			break
		}
		for _, f := range []string{"MESSAGE", "PRIORITY", "CONTAINER_ID_FULL", "CONTAINER_NAME"} {
			if _, err := j.GetDataValue(f); err != nil {
				return res, err
			}
		}
		if _, err := j.GetRealtimeUsec(); err != nil {
			return res, err
		}
		if _, err := j.GetCursor(); err != nil {
			return res, err
		}
		res.Entries++
	}
	res.Wall, res.CPU = time.Since(t0), CPUTime()-c0
	return res, nil
}

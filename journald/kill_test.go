package journald

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

type daemon struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{}
}

// startDaemon runs podexporter and waits until /readyz says every source,
// the journal reader included, has started.
func startDaemon(t *testing.T, bin string, args ...string) *daemon {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	d := &daemon{done: make(chan struct{})}
	d.cmd = exec.Command(bin, append([]string{"--web.listen-address=" + addr}, args...)...)
	d.cmd.Stderr = &d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		d.kill()
		if t.Failed() {
			t.Logf("podexporter stderr:\n%s", d.stderr.String())
		}
	})
	testenv.WaitReady(t, addr, 30*time.Second)
	return d
}

func (d *daemon) kill() {
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// countLines counts the lines of a file without holding it.
func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("\n"))
}

// TestKillDuringWrite kills podexporter with SIGKILL while a container writes
// 200,000 numbered lines, restarts it, and checks against the numbers the
// container wrote: every line delivered, duplicates at most one batch.
func TestKillDuringWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the daemon and writes 200,000 lines")
	}
	testenv.RequireJournald(t)
	p := testenv.RequirePodman(t)
	const lines, batch = 200000, 1000
	bin := testenv.BuildDaemon(t, t.TempDir())
	dir := t.TempDir()
	out := filepath.Join(dir, "lines.jsonl")
	name := testenv.UniqueName("kill")
	args := []string{
		"--state.directory=" + filepath.Join(dir, "state"), "--journal.sink=jsonl", "--journal.output=" + out,
		"--journal.include-container=^" + name + "$", "--journal.batch-size=" + strconv.Itoa(batch),
	}
	d := startDaemon(t, bin, args...)
	p.Run(t, name, nil, "busybox", "seq", "1", strconv.Itoa(lines))
	testenv.Eventually(t, 60*time.Second, "a quarter of the lines before the kill", func() bool { return countLines(out) >= lines/4 })
	d.kill()
	atKill := countLines(out)
	startDaemon(t, bin, args...)
	podmanWait(t, name)
	testenv.Eventually(t, 30*time.Second, "journalctl to hold every line", func() bool {
		return journalCount(t, "CONTAINER_NAME="+name) == lines
	})
	testenv.Eventually(t, 60*time.Second, "every line delivered", func() bool { return countLines(out) >= lines })
	time.Sleep(time.Second) // room for wrong extra lines to show

	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := make([]int, lines+1)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct {
			Body string `json:"body"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		n, err := strconv.Atoi(l.Body)
		if err != nil || n < 1 || n > lines {
			t.Fatalf("line body %q is not one the container wrote", l.Body)
		}
		seen[n]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var missing, dups int
	for n := 1; n <= lines; n++ {
		if seen[n] == 0 {
			missing++
		}
		dups += max(0, seen[n]-1)
	}
	t.Logf("written %d, delivered %d distinct, duplicated %d (batch %d), %d delivered before SIGKILL", lines, lines-missing, dups, batch, atKill)
	if missing > 0 {
		t.Errorf("%d lines never delivered", missing)
	}
	if dups > batch {
		t.Errorf("%d duplicates, more than one batch (%d)", dups, batch)
	}
}

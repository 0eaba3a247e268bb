//go:build faults

package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/internal/testenv"
)

// The load: loggers write linesPerTick lines every tick, churn starts a short
// container every churnEvery and removes the one before last.
const (
	loggers      = 4
	linesPerTick = 10
	tick         = 100 * time.Millisecond
	churnEvery   = 3 * time.Second
	churnLines   = 20
	batchSize    = 1000 // --journal.batch-size: duplicates must stay within one batch
	maxLogLines  = 4    // warnings and errors one fault may cause: a line or two, not a flood
)

// result is one row of the table.
type result struct {
	Fault                         string
	Written, InJournal, Delivered int
	Lost, Duplicated              int
	Recovery                      time.Duration // -1: not applicable
	StayedUp                      string
	LogLines                      int
	Notes                         []string
	Failures                      []string
}

func TestFaultMatrix(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireJournaldExclusive(t) // faults kill journald and vacuum the journal
	p := testenv.RequirePodman(t)
	mode := os.Getenv("FAULTS")
	if mode == "" {
		mode = "full"
	}
	m := newMatrix(t, p)

	rows := []rowSpec{
		{name: "kill-9", title: "kill -9 of podexporter, restarted after 2 s", fault: 2 * time.Second, inject: injectKill},
		{name: "podman", title: "Podman API service killed, restarted after 5 s", fault: 5 * time.Second, inject: injectPodman},
		{name: "journald", title: "journald killed, restarted after 2 s", fault: 2 * time.Second, inject: injectJournald},
		{name: "otlp60", title: "OTLP collector down 60 s", fault: 60 * time.Second, inject: injectCollectorDown(60 * time.Second)},
		{name: "otlp600", title: "OTLP collector down 10 min", fault: 10 * time.Minute, inject: injectCollectorDown(10 * time.Minute), full: true},
		{name: "vacuum", title: "journalctl --vacuum-files=1 while podexporter lags", fault: 10 * time.Second, inject: injectVacuum},
		{name: "full", title: "state directory full (tmpfs) for 15 s", fault: 15 * time.Second, inject: injectStateFull},
		{name: "readonly", title: "state directory read-only for 15 s", fault: 15 * time.Second, inject: injectStateReadOnly},
		{name: "garbage", title: "one 5 MiB line, invalid UTF-8, binary bytes", fault: 2 * time.Second, inject: injectGarbage},
		{name: "many", title: "200 containers started at once", fault: 30 * time.Second, inject: injectMany},
		{name: "split-lagging", title: "an exited container's split lines read while podexporter lags", fault: 20 * time.Second, inject: injectSplitLagging},
		{name: "foreign-cursor", title: "restart with a saved cursor from another journal", fault: 3 * time.Second, inject: injectForeignCursor},
	}
	var only *regexp.Regexp
	if expr := os.Getenv("FAULTS_ONLY"); expr != "" {
		var err error
		if only, err = regexp.Compile(expr); err != nil {
			t.Fatalf("FAULTS_ONLY=%q: %v", expr, err)
		}
		if !slices.ContainsFunc(rows, func(r rowSpec) bool { return only.MatchString(r.name) && (!r.full || mode == "full") }) {
			t.Fatalf("FAULTS_ONLY=%q matches no row of the %s matrix: a run that checks nothing must not pass", expr, mode)
		}
	}
	var results []result
	for i := range rows {
		spec := &rows[i]
		if spec.full && mode != "full" {
			continue
		}
		if only != nil && !only.MatchString(spec.name) {
			continue
		}
		res := m.runRow(spec)
		t.Logf("%s: %s", spec.name, formatRow(res))
		results = append(results, res)
	}
	table := formatTable(results)
	fmt.Println(table)
	if os.Getenv("FAULTS_REPORT") == "1" {
		if err := writeReport(mode, table); err != nil {
			t.Errorf("write docs/reliability.md: %v", err)
		}
	}
	for _, r := range results {
		for _, f := range r.Failures {
			t.Errorf("%s: %s", r.Fault, f)
		}
	}
}

type rowSpec struct {
	name, title string
	fault       time.Duration // how long the fault lasts, which sizes the load around it
	full        bool          // only in the full matrix, not in CI's short form
	inject      func(m *matrix, r *rowRun)
}

// rowRun is one row while it runs.
type rowRun struct {
	spec     *rowSpec
	prefix   string // container names of this row's load
	faultAt  time.Time
	faultEnd time.Time
	written  int
	recovery time.Duration
	stayedUp string
	res      *result
	// extra counts lines the fault itself wrote and checks itself (not in the
	// journal comparison: a 5 MiB line is many journal entries).
	extraKeys map[string]bool
}

func (r *rowRun) fail(format string, args ...any) {
	r.res.Failures = append(r.res.Failures, fmt.Sprintf(format, args...))
}

func (r *rowRun) note(format string, args ...any) {
	r.res.Notes = append(r.res.Notes, fmt.Sprintf(format, args...))
}

// matrix owns the collector, the podexporter process and the poller that
// records when each line reached the collector.
type matrix struct {
	t     *testing.T
	p     *testenv.Podman
	col   *otelcoltest.Collector
	bin   string
	state string
	run   string
	d     *daemon

	mu       sync.Mutex
	arrivals map[string][]time.Time // container name + "|" + body
	events   []otelcoltest.LogRecord
}

func newMatrix(t *testing.T, p *testenv.Podman) *matrix {
	m := &matrix{t: t, p: p, run: strings.TrimPrefix(testenv.UniqueName("fm"), "podexporter-test-"), arrivals: map[string][]time.Time{}}
	dir := t.TempDir()
	m.bin = testenv.BuildDaemon(t, dir)
	// A small tmpfs as the state directory, so that it can be filled and made
	// read-only.
	m.state = filepath.Join(dir, "state")
	if err := os.Mkdir(m.state, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "podexporter-faults", m.state).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs state directory: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", m.state).Run() })
	m.col = otelcoltest.StartCollector(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go m.poll(ctx, done)
	t.Cleanup(func() { cancel(); <-done })
	m.startDaemon()
	t.Cleanup(func() { m.d.stop() })
	return m
}

// poll reads what the collector received, every 200 ms, and notes when each line
// arrived.
func (m *matrix) poll(ctx context.Context, done chan struct{}) {
	defer close(done)
	var off int64
	want := "fm-" + m.run + "-"
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
		recs, next := m.col.LogsFrom(off)
		off = next
		now := time.Now()
		m.mu.Lock()
		for _, r := range recs {
			name, _ := r.Resource["container.name"].(string)
			if !strings.HasPrefix(name, want) {
				continue
			}
			if r.EventName != "" {
				m.events = append(m.events, r)
				continue
			}
			body := r.Body
			if b, ok := r.BodyValue.([]byte); ok {
				body = string(b) // a line that is not UTF-8 travels as bytes, unchanged
			}
			k := name + "|" + body
			m.arrivals[k] = append(m.arrivals[k], now)
		}
		m.mu.Unlock()
	}
}

// startDaemon starts podexporter; an extra --flag=value replaces the default one.
func (m *matrix) startDaemon(extra ...string) {
	m.t.Helper()
	addr := testenv.FreeAddr(m.t)
	d := &daemon{addr: addr, log: &lineLog{}, done: make(chan struct{})}
	args := slices.DeleteFunc([]string{
		"--web.listen-address=" + addr,
		"--state.directory=" + m.state,
		"--podman.socket=" + m.p.Socket,
		"--otlp.endpoint=http://" + m.col.GRPCEndpoint,
		"--otlp.protocol=grpc",
		"--journal.start=tail",
		"--journal.include-container=^fm-" + m.run + "-",
		fmt.Sprintf("--journal.batch-size=%d", batchSize),
		"--podman.stats-interval=2s",
	}, func(arg string) bool {
		name, _, _ := strings.Cut(arg, "=")
		return slices.ContainsFunc(extra, func(e string) bool { return strings.HasPrefix(e, name+"=") })
	})
	d.cmd = exec.Command(m.bin, append(args, extra...)...)
	d.cmd.Stderr = d.log
	if err := d.cmd.Start(); err != nil {
		m.t.Fatalf("start podexporter: %v", err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	m.d = d
	testenv.WaitReady(m.t, addr, 30*time.Second)
}

// daemon is one podexporter process.
type daemon struct {
	cmd  *exec.Cmd
	addr string
	log  *lineLog
	done chan struct{}
	err  error
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

func (d *daemon) stop() {
	if d.exited() {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

// scrape returns the sum of a family's samples whose labels include want.
func (d *daemon) scrape(family string, want map[string]string) (float64, error) {
	resp, err := http.Get("http://" + d.addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, err
	}
	f, ok := fams[family]
	if !ok {
		return 0, nil
	}
	sum := 0.0
next:
	for _, s := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range s.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if strings.HasSuffix(k, "~") {
				if !regexp.MustCompile(v).MatchString(labels[strings.TrimSuffix(k, "~")]) {
					continue next
				}
			} else if labels[k] != v {
				continue next
			}
		}
		switch {
		case s.Counter != nil:
			sum += s.Counter.GetValue()
		case s.Gauge != nil:
			sum += s.Gauge.GetValue()
		case s.Untyped != nil:
			sum += s.Untyped.GetValue()
		}
	}
	return sum, nil
}

func (m *matrix) metric(family string, labels map[string]string) float64 {
	v, err := m.d.scrape(family, labels)
	if err != nil {
		m.t.Logf("scrape %s: %v", family, err)
		return -1
	}
	return v
}

// lineLog keeps podexporter's log lines with the time each was written.
type lineLog struct {
	mu    sync.Mutex
	part  []byte
	lines []logLine
}

type logLine struct {
	at   time.Time
	text string
}

func (l *lineLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, b...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			return len(b), nil
		}
		l.lines = append(l.lines, logLine{time.Now(), string(l.part[:i])})
		l.part = l.part[i+1:]
	}
}

// noisy returns the warnings and errors logged since.
func (l *lineLog) noisy(since time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ln := range l.lines {
		if !ln.at.Before(since) && (strings.Contains(ln.text, "level=WARN") || strings.Contains(ln.text, "level=ERROR")) {
			out = append(out, ln.text)
		}
	}
	return out
}

func (m *matrix) podman(args ...string) (string, error) {
	out, err := exec.Command("podman", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// runRow runs the load around one fault and measures it.
func (m *matrix) runRow(spec *rowSpec) result {
	t := m.t
	res := result{Fault: spec.title, Recovery: -1}
	r := &rowRun{spec: spec, prefix: "fm-" + m.run + "-" + spec.name + "-", res: &res, recovery: -1, extraKeys: map[string]bool{}}
	start := time.Now()
	daemons := []*daemon{m.d}
	defer m.removeRow(r)

	// 5 s of load before the fault, 10 s after.
	load := 5*time.Second + spec.fault + 10*time.Second
	perLogger := int(load/tick) * linesPerTick
	var names []string
	for i := range loggers {
		name := fmt.Sprintf("%sL%d", r.prefix, i)
		script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do j=0; while [ $j -lt %d ]; do echo "L%d $i"; i=$((i+1)); j=$((j+1)); done; sleep %g; done`,
			perLogger, linesPerTick, i, tick.Seconds())
		if out, err := m.podman("run", "-d", "--name", name, "--label", "podexporter-faults="+m.run, testenv.Image, "sh", "-c", script); err != nil {
			t.Fatalf("start logger: %v: %s", err, out)
		}
		names = append(names, name)
		r.written += perLogger
	}
	churnCtx, stopChurn := context.WithCancel(context.Background())
	churnDone := make(chan int)
	go m.churn(churnCtx, r.prefix, churnDone)

	time.Sleep(5 * time.Second)
	r.faultAt = time.Now()
	spec.inject(m, r)
	if r.faultEnd.IsZero() {
		r.faultEnd = time.Now()
	}
	if m.d != daemons[len(daemons)-1] {
		daemons = append(daemons, m.d)
	}

	for _, name := range names {
		ctx, cancel := context.WithTimeout(context.Background(), load+2*time.Minute)
		out, err := exec.CommandContext(ctx, "podman", "wait", name).CombinedOutput()
		cancel()
		if err != nil {
			r.fail("logger %s did not finish: %v: %s", name, err, out)
		}
	}
	stopChurn()
	churned := <-churnDone
	r.written += churned * churnLines
	time.Sleep(2 * time.Second) // journald writes what conmon sent

	journal := m.journalLines(start, r.prefix)
	res.Written = r.written
	res.InJournal = len(journal)

	// Wait until every line the journal holds reached the collector.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		missing := 0
		m.mu.Lock()
		for k := range journal {
			if len(m.arrivals[k]) == 0 {
				missing++
			}
		}
		m.mu.Unlock()
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(time.Second) // room for a duplicate to show

	m.mu.Lock()
	var latest time.Time
	for k, at := range journal {
		arr := m.arrivals[k]
		if len(arr) == 0 {
			res.Lost++
			continue
		}
		res.Delivered++
		res.Duplicated += len(arr) - 1
		if !at.After(r.faultEnd) && arr[0].After(latest) {
			latest = arr[0]
		}
	}
	for k := range r.extraKeys {
		if arr := m.arrivals[k]; len(arr) > 0 {
			res.Duplicated += len(arr) - 1
		}
	}
	m.mu.Unlock()
	if r.recovery >= 0 {
		res.Recovery = r.recovery
	} else if !latest.IsZero() {
		res.Recovery = max(0, latest.Sub(r.faultEnd))
	}

	res.StayedUp = "yes"
	if r.stayedUp != "" {
		res.StayedUp = r.stayedUp
	}
	for _, d := range daemons {
		if d != m.d && !d.exited() {
			r.fail("an earlier podexporter process is still running")
		}
	}
	if m.d.exited() {
		res.StayedUp = "no"
		r.fail("podexporter exited: %v; last log lines:\n%s", m.d.err, strings.Join(m.d.log.noisy(start), "\n"))
		m.startDaemon() // so that the next rows can run
	} else if resp, err := http.Get("http://" + m.d.addr + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		res.StayedUp = "unhealthy"
		r.fail("/healthz after the fault: %v", err)
	}
	var noisy []string
	for _, d := range daemons {
		noisy = append(noisy, d.log.noisy(start)...)
	}
	res.LogLines = len(noisy)
	if len(noisy) > maxLogLines {
		r.fail("%d warnings and errors logged (more than %d):\n%s", len(noisy), maxLogLines, strings.Join(noisy, "\n"))
	} else if len(noisy) > 0 {
		t.Logf("%s logged:\n%s", spec.name, strings.Join(noisy, "\n"))
	}
	if res.Lost > 0 {
		r.fail("%d lines the journal holds never reached the collector", res.Lost)
	}
	if res.Duplicated > batchSize {
		r.fail("%d duplicates, more than one batch (%d)", res.Duplicated, batchSize)
	}
	return res
}

// churn starts a short-lived container every churnEvery and removes the one
// started two rounds before; it sends how many it started.
func (m *matrix) churn(ctx context.Context, prefix string, done chan<- int) {
	n := 0
	defer func() { done <- n }()
	for {
		name := fmt.Sprintf("%sc%d", prefix, n)
		script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do echo "c%d $i"; i=$((i+1)); done`, churnLines, n)
		if _, err := m.podman("run", "-d", "--name", name, "--label", "podexporter-faults="+m.run, testenv.Image, "sh", "-c", script); err == nil {
			n++
		}
		if n > 2 {
			_, _ = m.podman("wait", fmt.Sprintf("%sc%d", prefix, n-3))
			_, _ = m.podman("rm", "-f", "-t", "0", fmt.Sprintf("%sc%d", prefix, n-3))
		}
		select {
		case <-ctx.Done():
			for i := max(0, n-2); i < n; i++ {
				_, _ = m.podman("wait", fmt.Sprintf("%sc%d", prefix, i))
			}
			return
		case <-time.After(churnEvery):
		}
	}
}

func (m *matrix) removeRow(r *rowRun) {
	ids, _ := m.podman("ps", "-aq", "--filter", "label=podexporter-faults="+m.run)
	if ids == "" {
		return
	}
	args := append([]string{"rm", "-f", "-t", "0"}, strings.Fields(ids)...)
	if out, err := m.podman(args...); err != nil {
		m.t.Logf("remove row containers: %v: %s", err, out)
	}
}

// journalLines asks journalctl, an independent reader, for the lines of the
// row's containers since start: key (container name | message) to its time.
func (m *matrix) journalLines(start time.Time, prefix string) map[string]time.Time {
	m.t.Helper()
	cmd := exec.Command("journalctl", "-a", "-o", "json", "--output-fields=MESSAGE,CONTAINER_NAME",
		fmt.Sprintf("--since=@%d", start.Unix()-1), "_COMM=conmon")
	out, err := cmd.Output()
	if err != nil {
		m.t.Fatalf("journalctl: %v", err)
	}
	lines := map[string]time.Time{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var e struct {
			Message  any    `json:"MESSAGE"`
			Name     string `json:"CONTAINER_NAME"`
			Realtime string `json:"__REALTIME_TIMESTAMP"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			m.t.Fatalf("journalctl json: %v", err)
		}
		msg, ok := e.Message.(string)
		if !ok || !strings.HasPrefix(e.Name, prefix) {
			continue
		}
		us, _ := strconv.ParseInt(e.Realtime, 10, 64)
		lines[e.Name+"|"+strings.TrimSuffix(msg, "\n")] = time.UnixMicro(us)
	}
	return lines
}

// --- faults ---

func injectKill(m *matrix, r *rowRun) {
	old := m.d
	_ = old.cmd.Process.Signal(syscall.SIGKILL)
	<-old.done
	time.Sleep(2 * time.Second)
	m.startDaemon()
	r.faultEnd = time.Now()
	r.stayedUp = "killed; restarted"
}

func injectPodman(m *matrix, r *rowRun) {
	// The rootful service: testhost.sh also runs a rootless user's own.
	pid := pgrep(m.t, "podman system service .*unix://"+strings.TrimPrefix(m.p.Socket, "unix://")+"$")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		m.t.Fatalf("kill the Podman service: %v", err)
	}
	down := false
	for i := 0; i < 25; i++ { // 5 s
		time.Sleep(200 * time.Millisecond)
		down = down || m.metric("podexporter_podman_up", nil) == 0
	}
	if !down {
		r.fail("podexporter_podman_up never went to 0 while the service was down")
	}
	restartServices(m.t)
	r.faultEnd = time.Now()
	testenv.Eventually(m.t, 60*time.Second, "podexporter_podman_up back to 1", func() bool {
		return m.metric("podexporter_podman_up", nil) == 1
	})
	r.recovery = time.Since(r.faultEnd)
	if down {
		r.note("podman_up 0 during the outage, back to 1 after %.1f s", r.recovery.Seconds())
	}
}

func injectJournald(m *matrix, r *rowRun) {
	pid := pgrep(m.t, "^/lib/systemd/systemd-journald")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		m.t.Fatalf("kill journald: %v", err)
	}
	time.Sleep(2 * time.Second)
	restartServices(m.t)
	r.faultEnd = time.Now()
	r.note("lines conmon sent while journald was down are lost by journald, not podexporter")
}

func injectCollectorDown(d time.Duration) func(*matrix, *rowRun) {
	return func(m *matrix, r *rowRun) {
		rssBefore := rssKiB(m.d.cmd.Process.Pid)
		m.col.Stop()
		peak := rssBefore
		for end := time.Now().Add(d); time.Now().Before(end); {
			time.Sleep(time.Second)
			peak = max(peak, rssKiB(m.d.cmd.Process.Pid))
		}
		m.col.Start()
		r.faultEnd = time.Now()
		r.note("RSS %.1f MiB before, peak %.1f MiB during", float64(rssBefore)/1024, float64(peak)/1024)
	}
}

func injectVacuum(m *matrix, r *rowRun) {
	gapsBefore := m.metric("podexporter_journal_gap_entries_total", nil)
	// Reading pauses while the sink cannot deliver: podexporter falls behind.
	m.col.Stop()
	time.Sleep(4 * time.Second)
	journalctl(m.t, "--rotate")
	time.Sleep(3 * time.Second)
	journalctl(m.t, "--rotate")
	journalctl(m.t, "--vacuum-files=1")
	time.Sleep(3 * time.Second)
	m.col.Start()
	r.faultEnd = time.Now()
	testenv.Eventually(m.t, 30*time.Second, "the gap counted", func() bool {
		return m.metric("podexporter_journal_gap_entries_total", nil) > gapsBefore
	})
	r.note("gap counted: at most %.0f entries vanished before they were read", m.metric("podexporter_journal_gap_entries_total", nil)-gapsBefore)
}

// fillState fills the tmpfs state directory until it is full.
func fillState(m *matrix) string {
	path := filepath.Join(m.state, "fill")
	f, err := os.Create(path)
	if err != nil {
		m.t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				m.t.Fatalf("fill the state directory: %v", err)
			}
			return path
		}
	}
}

func injectStateFull(m *matrix, r *rowRun) {
	before := m.metric("podexporter_journal_cursor_save_errors_total", nil)
	fill := fillState(m)
	time.Sleep(15 * time.Second)
	if err := os.Remove(fill); err != nil {
		m.t.Fatal(err)
	}
	r.faultEnd = time.Now()
	saveRecovered(m, r, before)
}

func injectStateReadOnly(m *matrix, r *rowRun) {
	before := m.metric("podexporter_journal_cursor_save_errors_total", nil)
	if out, err := exec.Command("mount", "-o", "remount,ro", m.state).CombinedOutput(); err != nil {
		m.t.Fatalf("remount read-only: %v: %s", err, out)
	}
	time.Sleep(15 * time.Second)
	if out, err := exec.Command("mount", "-o", "remount,rw", m.state).CombinedOutput(); err != nil {
		m.t.Fatalf("remount read-write: %v: %s", err, out)
	}
	r.faultEnd = time.Now()
	saveRecovered(m, r, before)
}

// saveRecovered checks that cursor saves failed during the fault and measures
// how long until one succeeds after it.
func saveRecovered(m *matrix, r *rowRun, errorsBefore float64) {
	errs := m.metric("podexporter_journal_cursor_save_errors_total", nil) - errorsBefore
	if errs <= 0 {
		r.fail("no failed cursor save counted")
	}
	commits := m.metric("podexporter_journal_cursor_commits_total", nil)
	testenv.Eventually(m.t, 30*time.Second, "a cursor saved again", func() bool {
		return m.metric("podexporter_journal_cursor_commits_total", nil) > commits
	})
	r.recovery = time.Since(r.faultEnd)
	r.note("%.0f failed cursor saves counted; saved again %.1f s after", errs, r.recovery.Seconds())
}

func injectGarbage(m *matrix, r *rowRun) {
	cutBefore := m.metric("podexporter_journal_lines_cut_total", nil)
	name := "fm-" + m.run + "-" + r.spec.name + "x-garbage"
	script := `head -c 5242880 /dev/zero | tr '\000' a; echo; printf 'bad utf8 \377\376 \303\050 end\n'; printf 'binary \000\001\002\033[31m end\n'; echo sentinel`
	if out, err := m.podman("run", "-d", "--name", name, "--label", "podexporter-faults="+m.run, testenv.Image, "sh", "-c", script); err != nil {
		m.t.Fatalf("start garbage writer: %v: %s", err, out)
	}
	r.written += 4
	r.faultEnd = time.Now()
	var got map[string]int
	find := func() bool {
		got = map[string]int{}
		m.mu.Lock()
		defer m.mu.Unlock()
		for k, at := range m.arrivals {
			body, ok := strings.CutPrefix(k, name+"|")
			if !ok {
				continue
			}
			r.extraKeys[k] = true
			switch {
			case body == "sentinel":
				got["sentinel"] += len(at)
			case strings.HasPrefix(body, "aaaa"):
				got["long"] += len(at)
				got["long-bytes"] = len(body)
			case body == "bad utf8 \xff\xfe \xc3\x28 end":
				got["utf8"] += len(at) // byte for byte
			case body == "binary \x00\x01\x02\x1b[31m end":
				got["binary"] += len(at)
			}
		}
		return got["sentinel"] > 0 && got["long"] > 0 && got["utf8"] > 0 && got["binary"] > 0
	}
	deadline := time.Now().Add(30 * time.Second)
	for !find() && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	r.recovery = time.Since(r.faultEnd)
	for _, k := range []string{"long", "utf8", "binary", "sentinel"} {
		if got[k] == 0 {
			r.fail("the %s line never reached the collector", k)
		}
	}
	cut := m.metric("podexporter_journal_lines_cut_total", nil) - cutBefore
	if cut < 1 {
		r.fail("the 5 MiB line was not counted as cut")
	}
	r.note("5 MiB line delivered as %d bytes (--journal.max-line-bytes) and counted as cut; invalid UTF-8 and binary lines delivered byte for byte", got["long-bytes"])
}

func injectMany(m *matrix, r *rowRun) {
	const n = 200
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	var mu sync.Mutex
	failed := 0
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			name := fmt.Sprintf("%ss%d", r.prefix, i)
			script := fmt.Sprintf(`i=0; while [ $i -lt 10 ]; do echo "s%d $i"; i=$((i+1)); done; sleep 600`, i)
			if out, err := m.podman("run", "-d", "--name", name, "--label", "podexporter-faults="+m.run, testenv.Image, "sh", "-c", script); err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
				m.t.Logf("start %s: %v: %s", name, err, out)
			}
		}()
	}
	wg.Wait()
	started := n - failed
	r.written += started * 10
	r.faultEnd = time.Now()
	r.note("%d containers started in %.1f s", started, time.Since(start).Seconds())
	ok := false
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		running := m.metric("podman_container_info", map[string]string{"name~": "^" + regexp.QuoteMeta(r.prefix) + "s"})
		if int(running) == started {
			ok = true
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	r.recovery = time.Since(r.faultEnd)
	if !ok {
		r.fail("/metrics did not show all %d containers running within 60 s", started)
	}
	r.note("all %d in /metrics as running %.1f s after the last start; podexporter RSS %.1f MiB", started, r.recovery.Seconds(), float64(rssKiB(m.d.cmd.Process.Pid))/1024)
}

// --- helpers ---

// pgrep returns the oldest process of this host matching pattern: a container booted
// with systemd runs its own journald, visible here but in another mount namespace.
func pgrep(t *testing.T, pattern string) int {
	out, err := exec.Command("pgrep", "-f", pattern).Output()
	if err != nil {
		t.Fatalf("pgrep %q: %v", pattern, err)
	}
	self, _ := os.Readlink("/proc/self/ns/mnt")
	for _, f := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("pgrep %q: %v", pattern, err)
		}
		if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); ns == self {
			return pid
		}
	}
	t.Fatalf("pgrep %q: no process of this host's mount namespace", pattern)
	return 0
}

// restartServices starts what is missing of journald and the Podman service the
// way the test host was set up.
func restartServices(t *testing.T) {
	cmd := exec.Command("bash", "../../../../scripts/testhost.sh")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testhost.sh: %v: %s", err, out)
	}
}

func journalctl(t *testing.T, args ...string) {
	if out, err := exec.Command("journalctl", args...).CombinedOutput(); err != nil {
		t.Fatalf("journalctl %v: %v: %s", args, err, out)
	}
}

func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// --- the table ---

func formatRow(r result) string {
	rec := "n/a"
	if r.Recovery >= 0 {
		rec = fmt.Sprintf("%.1f s", r.Recovery.Seconds())
	}
	status := "pass"
	if len(r.Failures) > 0 {
		status = "FAIL: " + strings.Join(r.Failures, "; ")
	}
	notes := strings.Join(r.Notes, "; ")
	return fmt.Sprintf("| %s | %d | %d | %d | %d | %d | %s | %s | %d | %s | %s |",
		r.Fault, r.Written, r.InJournal, r.Delivered, r.Lost, r.Duplicated, rec, r.StayedUp, r.LogLines, status, notes)
}

func formatTable(rs []result) string {
	var b strings.Builder
	b.WriteString("| fault | lines written | in the journal | delivered | lost (journal held) | duplicated | recovery | stayed up | warnings logged | result | notes |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		b.WriteString(strings.ReplaceAll(formatRow(r), "\n", " "))
		b.WriteByte('\n')
	}
	return b.String()
}

// writeReport replaces the Faults section of docs/reliability.md.
func writeReport(mode, table string) error {
	path := "../../../../docs/reliability.md"
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	section := fmt.Sprintf("## Faults\n\nGenerated by `make faults FAULTS=%s` on %s: %d logger containers writing %d lines/s in total, "+
		"a short-lived container started and removed every %s, podexporter shipping to a real OpenTelemetry Collector over OTLP/gRPC; "+
		"\"in the journal\" and \"lost\" are counted against journalctl, recovery is from the end of the fault until every line written before it was delivered "+
		"(or the row's own measure, in its notes).\n\n%s\n",
		mode, time.Now().UTC().Format("2006-01-02"), loggers, loggers*linesPerTick*int(time.Second/tick), churnEvery, table)
	var out []string
	skip := false
	replaced := false
	for _, l := range strings.Split(string(old), "\n") {
		if strings.HasPrefix(l, "## ") {
			skip = l == "## Faults"
			if skip {
				out = append(out, strings.TrimRight(section, "\n"), "")
				replaced = true
				continue
			}
		}
		if !skip {
			out = append(out, l)
		}
	}
	if !replaced {
		out = append(out, "", strings.TrimRight(section, "\n"), "")
	}
	return os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o644)
}

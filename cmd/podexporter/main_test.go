package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// binary is podexporter built once for the tests that run it as a real process:
// signals, sd_notify, exit codes and listeners are only honest that way.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "podexporter-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if binary, err = testenv.BuildDaemonErr(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type daemonProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer
	done   chan error
}

// startDaemon runs podexporter with a private state directory and listen address and
// waits until it answers on the address. It is stopped with SIGKILL at the end if the
// test did not stop it.
func startDaemon(t *testing.T, env []string, args ...string) *daemonProc {
	t.Helper()
	addr := testenv.FreeAddr(t)
	full := []string{"--web.listen-address=" + addr}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--state.directory=") }) {
		full = append(full, "--state.directory="+t.TempDir())
	}
	full = append(full, args...)
	d := &daemonProc{cmd: exec.Command(binary, full...), addr: addr, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("podexporter stderr:\n%s", d.stderr)
		}
	})
	testenv.Eventually(t, 10*time.Second, "podexporter to listen on "+addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	// Sources start after the listeners; tests want the daemon as a scraper sees it
	// once /readyz says so.
	scheme := "http"
	for _, a := range args {
		if strings.HasPrefix(a, "--web.config.file=") {
			scheme = "" // TLS or auth: the test checks readiness its own way
		}
	}
	if scheme != "" {
		testenv.WaitReady(t, addr, 30*time.Second)
	}
	return d
}

// stop sends SIGTERM and returns how long the exit took and the exit error.
func (d *daemonProc) stop(t *testing.T) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		d.done <- err // for the cleanup
		return time.Since(start), err
	case <-time.After(15 * time.Second):
		t.Fatal("podexporter did not exit within 15 s of SIGTERM")
	}
	return 0, nil
}

// kill sends SIGKILL, as a crash would, and waits for the exit.
func (d *daemonProc) kill() {
	_ = d.cmd.Process.Kill()
	err := <-d.done
	d.done <- err // for the cleanup
}

func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// A bare transport: Go's default one would ask for gzip and undo it silently.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestExitCodes(t *testing.T) {
	busy := testenv.FreeAddr(t)
	l, err := net.Listen("tcp", busy)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tests := []struct {
		name    string
		args    []string
		code    int
		message string
	}{
		{"version", []string{"version"}, 0, ""},
		{"bad flag", []string{"--log.level=loud"}, 2, "invalid --log.level"},
		{"bad duration", []string{"--podman.stats-interval=often"}, 2, "invalid --podman.stats-interval"},
		{"selection that does not compile", []string{"--podman.exclude-container=web-("}, 2, "invalid --podman.exclude-container"},
		{"label selection without a key", []string{"--journal.include-label==shop"}, 2, "invalid --journal.include-label"},
		{"log label selection without the Podman source", []string{"--journal.sink=jsonl", "--journal.exclude-image=pause", "--state.directory=" + t.TempDir(),
			"--web.listen-address=" + testenv.FreeAddr(t), "--no-collector.podman", "--no-collector.container", "--no-collector.pod", "--no-collector.image",
			"--no-collector.volume", "--no-collector.network", "--no-collector.system", "--no-collector.hardening", "--no-collector.storage"}, 2, "invalid --journal.exclude-image"},
		{"port in use", []string{"--web.listen-address=" + busy, "--state.directory=" + t.TempDir()}, 2, "invalid --web.listen-address"},
		{"state directory under a file", []string{"--state.directory=" + binary + "/state"}, 2, "invalid --state.directory"},
		{"host log match without =", []string{"--journal.match=sshd.service"}, 2, "invalid --journal.match"},
		{"host log unit without its type", []string{"--journal.units=sshd"}, 2, "invalid --journal.units"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := exec.Command(binary, tc.args...)
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(stderr.String(), tc.message) {
				t.Fatalf("exit %d with %q, want %d with %q", code, stderr.String(), tc.code, tc.message)
			}
			if tc.code == 2 && strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
				t.Errorf("want one line for a configuration error, got %q", stderr.String())
			}
		})
	}
}

// TestNumericBounds runs the binary with each bounded numeric flag at its largest
// accepted value and at the first refused one (the absurd values of issue 19 among
// them): the refusal is exit code 2 and one line naming the flag. version parses and
// validates the whole configuration like the daemon does, then exits.
func TestNumericBounds(t *testing.T) {
	tests := []struct {
		flag  string
		value string
		code  int
	}{
		{"--journal.batch-size", "100000", 0},
		{"--journal.batch-size", "100001", 2},
		{"--journal.batch-size", "1000000000", 2},
		{"--journal.max-line-bytes", "67108864", 0},
		{"--journal.max-line-bytes", "67108865", 2},
		{"--journal.max-line-bytes", "99999999999999", 2},
		{"--journal.max-priority", "7", 0},
		{"--journal.max-priority", "8", 2},
		{"--podman.max-containers", "100000", 0},
		{"--podman.max-containers", "100001", 2},
		{"--podman.label-value-max-length", "16384", 0},
		{"--podman.label-value-max-length", "16385", 2},
		{"--web.max-requests", "1000", 0},
		{"--web.max-requests", "1001", 2},
	}
	for _, tc := range tests {
		t.Run(tc.flag+"="+tc.value, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := exec.Command(binary, "version", tc.flag+"="+tc.value)
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Fatalf("exit %d with %q, want %d", code, stderr.String(), tc.code)
			}
			if tc.code == 0 {
				return
			}
			msg := strings.TrimSpace(stderr.String())
			if !strings.HasPrefix(msg, "podexporter: invalid "+tc.flag+": "+tc.value+" ") || !strings.Contains(msg, "; fix: use ") {
				t.Errorf("message %q, want one naming %s, the value and a fix", msg, tc.flag)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("want one line, got %q", msg)
			}
		})
	}
}

// TestSdNotify listens on a real unixgram NOTIFY_SOCKET, as systemd and conmon do.
func TestSdNotify(t *testing.T) {
	sock, msgs := testenv.NotifySocket(t)
	// 200 ms watchdog: pings every 100 ms.
	d := startDaemon(t, []string{"NOTIFY_SOCKET=" + sock, "WATCHDOG_USEC=200000"})

	next := func(want string) string {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case m := <-msgs:
				if strings.Contains(m, want) {
					return m
				}
				if strings.Contains(m, "STOPPING=1") && want != "STOPPING=1" {
					t.Fatalf("got STOPPING before %s", want)
				}
			case <-timeout:
				t.Fatalf("no %s within 5 s", want)
			}
		}
	}
	ready := next("READY=1")
	if !strings.Contains(ready, "STATUS=serving on "+d.addr) {
		t.Errorf("READY message %q lacks a STATUS naming the address", ready)
	}
	next("WATCHDOG=1")
	next("WATCHDOG=1")
	took, err := d.stop(t)
	next("STOPPING=1")
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if took > 10*time.Second {
		t.Fatalf("shutdown took %s, promised under 10 s", took)
	}
}

func TestHealthcheck(t *testing.T) {
	d := startDaemon(t, nil)
	run := func(addr string) int {
		cmd := exec.Command(binary, "healthcheck", "--web.listen-address="+addr, "--healthcheck.timeout=2s")
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode()
			}
			t.Fatal(err)
		}
		return 0
	}
	if code := run(d.addr); code != 0 {
		t.Errorf("healthcheck against a running daemon exited %d, want 0", code)
	}
	if code := run(testenv.FreeAddr(t)); code != 1 {
		t.Errorf("healthcheck against nothing exited %d, want 1", code)
	}
}

func TestEndpoints(t *testing.T) {
	d := startDaemon(t, nil)
	base := "http://" + d.addr
	tests := []struct {
		name        string
		path        string
		header      []string
		status      int
		contentType string
		encoding    string
		body        string
	}{
		{"landing page", "/", nil, 200, "text/html", "", "/metrics"},
		{"healthz", "/healthz", nil, 200, "text/plain", "", "ok"},
		{"readyz", "/readyz", nil, 200, "text/plain", "", "ready"},
		{"text format", "/metrics", nil, 200, "text/plain; version=0.0.4", "", "podexporter_build_info{"},
		{"openmetrics", "/metrics", []string{"Accept", "application/openmetrics-text; version=1.0.0"}, 200, "application/openmetrics-text", "", "# EOF"},
		{"gzip", "/metrics", []string{"Accept-Encoding", "gzip"}, 200, "text/plain", "gzip", ""},
		{"zstd", "/metrics", []string{"Accept-Encoding", "zstd"}, 200, "text/plain", "zstd", ""},
		{"unknown path", "/nope", nil, 404, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, base+tc.path, tc.header...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("Content-Type %q, want prefix %q", ct, tc.contentType)
			}
			if ce := resp.Header.Get("Content-Encoding"); ce != tc.encoding {
				t.Errorf("Content-Encoding %q, want %q", ce, tc.encoding)
			}
			if !bytes.Contains(body, []byte(tc.body)) {
				t.Errorf("body lacks %q:\n%.400s", tc.body, body)
			}
		})
	}
}

// TestRequestLimits sends the real daemon what no scraper sends: an oversized
// header, other methods, a request body.
func TestRequestLimits(t *testing.T) {
	d := startDaemon(t, nil)
	url := "http://" + d.addr + "/metrics"
	tests := []struct {
		name   string
		method string
		body   string
		header int // bytes of one extra header's value
		want   int
	}{
		{"plain scrape", http.MethodGet, "", 0, http.StatusOK},
		{"header of 100 KiB", http.MethodGet, "", 100 << 10, http.StatusRequestHeaderFieldsTooLarge},
		{"POST", http.MethodPost, "x=1", 0, http.StatusMethodNotAllowed},
		{"DELETE", http.MethodDelete, "", 0, http.StatusMethodNotAllowed},
		{"GET with a 1 MiB body", http.MethodGet, strings.Repeat("x", 1<<20), 0, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.body == "" {
				req.Body, req.ContentLength = nil, 0
			}
			if tc.header > 0 {
				req.Header.Set("X-Padding", strings.Repeat("a", tc.header))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	if resp, err := http.Get("http://" + d.addr + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("daemon unhealthy after the refused requests: %v", err)
	}
}

// TestMetricsPassPromtool checks the served exposition with Prometheus's own checker and
// with client_golang's linter, on the bytes a scraper gets.
func TestMetricsPassPromtool(t *testing.T) {
	promtool := testenv.RequireTool(t, "promtool")
	d := startDaemon(t, nil)
	_, body := get(t, "http://"+d.addr+"/metrics")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	for _, family := range []string{"podexporter_build_info", "podexporter_scrape_collector_duration_seconds", "podexporter_scrape_collector_success", "go_goroutines", "process_resident_memory_bytes"} {
		if !bytes.Contains(body, []byte("\n# TYPE "+family+" ")) {
			t.Errorf("/metrics lacks %s", family)
		}
	}
	lintProblems(t, body)
}

// TestOpenMetricsFamiliesOnce scrapes the real daemon for OpenMetrics, both its
// gathered families and its cached ones, and reads the answer with Prometheus's own
// OpenMetrics parser: a family described twice (client_golang's Go collector has a
// gauge go_memstats_alloc_bytes and a counter go_memstats_alloc_bytes_total, one
// OpenMetrics family name) makes Prometheus refuse the whole scrape.
func TestOpenMetricsFamiliesOnce(t *testing.T) {
	d := startDaemon(t, nil)
	resp, body := get(t, "http://"+d.addr+"/metrics", "Accept", "application/openmetrics-text; version=1.0.0")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Fatalf("Content-Type %q, want OpenMetrics", ct)
	}
	if !bytes.HasSuffix(body, []byte("\n# EOF\n")) {
		t.Errorf("the exposition does not end with # EOF")
	}
	types, helps := testenv.OpenMetricsFamilies(t, body)
	for name, n := range types {
		if n != 1 || helps[name] != 1 {
			t.Errorf("family %s described %d times (# TYPE) and %d times (# HELP), want once", name, n, helps[name])
		}
	}
	for _, want := range []string{"go_memstats_alloc_bytes", "podexporter_build_info", "podman_system_api_version"} {
		if types[want] != 1 {
			t.Errorf("family %s missing", want)
		}
	}
}

func TestDoctor(t *testing.T) {
	testenv.RequireJournald(t)
	p := testenv.RequirePodman(t)
	out, err := exec.Command(binary, "doctor", "--podman.socket="+p.Socket, "--state.directory="+t.TempDir()).CombinedOutput()
	if err != nil {
		t.Fatalf("doctor: %v\n%s", err, out)
	}
	// The Podman version as the podman CLI reports it, independently of our client.
	v, err := exec.Command("podman", "version", "--format", "{{.Version}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	wantPodman := fmt.Sprintf("OK    podman %s: reachable, libpod API %s", p.Socket, strings.TrimSpace(string(v)))
	sc := bufio.NewScanner(bytes.NewReader(out))
	var sawJournal, sawPodman, sawState bool
	for sc.Scan() {
		line := sc.Text()
		sawJournal = sawJournal || (strings.HasPrefix(line, "OK    journal /") && strings.Contains(line, "readable"))
		sawPodman = sawPodman || line == wantPodman
		sawState = sawState || (strings.HasPrefix(line, "OK    state directory") && strings.HasSuffix(line, "writable"))
	}
	if !sawJournal || !sawPodman || !sawState {
		t.Fatalf("doctor output lacks a readable journal (%v), %q (%v) or a writable state directory (%v):\n%s", sawJournal, wantPodman, sawPodman, sawState, out)
	}
	if !strings.Contains(string(out), "ebpf: ") {
		t.Errorf("doctor says nothing about eBPF:\n%s", out)
	}
}

package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// With --ebpf.enable the daemon's container network counters come from eBPF, for a
// host-network container too, and match the container's own /proc/PID/net/dev less
// the link headers.
func TestEBPFCountersInMetrics(t *testing.T) {
	p := testenv.RequirePodman(t)
	// --ebpf.extras needs tracefs, which systemd mounts and a bare test VM may not have.
	if _, err := os.Stat("/sys/kernel/tracing/events"); err != nil {
		if err := syscall.Mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil {
			t.Fatalf("mount tracefs: %v", err)
		}
	}
	d := startDaemon(t, nil, "--podman.socket="+p.Socket, "--podman.stats-interval=1s", "--ebpf.enable", "--ebpf.extras", "--journal.sink=none")
	if v := scrapeValue(t, d.addr, "podexporter_ebpf_enabled", nil); v != 1 {
		t.Fatalf("podexporter_ebpf_enabled = %v as root, want 1\n%s", v, d.stderr)
	}
	server := testenv.UniqueName("ebpfd-server")
	p.Run(t, server, []string{"--sysctl", "net.ipv6.conf.all.disable_ipv6=1"}, "sh", "-c", "mkdir /www && dd if=/dev/zero of=/www/f bs=1024 count=4096 2>/dev/null && exec httpd -f -p 8080 -h /www")
	host := testenv.UniqueName("ebpfd-host")
	hostID := p.Run(t, host, []string{"--network", "host"}, "sleep", "600")
	ipOut, err := exec.Command("podman", "inspect", "--format", "{{.NetworkSettings.IPAddress}}", server).Output()
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + strings.TrimSpace(string(ipOut)) + ":8080/f"
	testenv.Eventually(t, 10*time.Second, "a fetch from the host-network container", func() bool {
		return exec.Command("podman", "exec", host, "wget", "-q", "-O", "/dev/null", url).Run() == nil
	})
	for range 4 {
		if out, err := exec.Command("podman", "exec", host, "wget", "-q", "-O", "/dev/null", url).CombinedOutput(); err != nil {
			t.Fatalf("wget: %v: %s", err, out)
		}
	}
	pidOut, _ := exec.Command("podman", "inspect", "--format", "{{.State.Pid}}", server).Output()
	pid, _ := strconv.Atoi(strings.TrimSpace(string(pidOut)))
	dev, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		t.Fatal(err)
	}
	var txBytes, txPackets float64
	for _, line := range strings.Split(string(dev), "\n")[2:] {
		iface, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(iface) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		b, _ := strconv.ParseFloat(f[8], 64)
		n, _ := strconv.ParseFloat(f[9], 64)
		txBytes, txPackets = txBytes+b, txPackets+n
	}
	want := txBytes - 14*txPackets // what the host-network container received, IP-level
	id := map[string]string{"id": hostID[:12]}
	var got float64
	testenv.Eventually(t, 10*time.Second, "the next stats poll to carry the eBPF counters", func() bool {
		got = scrapeValue(t, d.addr, "podman_container_network_receive_bytes_total", id)
		return math.Abs(got-want) <= 0.01*want
	})
	t.Logf("host-network container received %.0f bytes by eBPF; the server's /proc/net/dev says it sent %.0f IP-level bytes", got, want)
	if v := scrapeValue(t, d.addr, "podman_container_tcp_retransmits_total", id); math.IsNaN(v) {
		t.Error("no podman_container_tcp_retransmits_total with --ebpf.extras")
	}
}

// Without capabilities the daemon starts, says what is missing once, and reports
// podexporter_ebpf_enabled 0 while everything else works.
func TestEBPFWithoutCapabilities(t *testing.T) {
	testenv.RequireRoot(t)
	setpriv := testenv.RequireTool(t, "setpriv")
	addr := testenv.FreeAddr(t)
	var stderr bytes.Buffer
	cmd := exec.Command(setpriv, "--inh-caps=-all", "--bounding-set=-all", binary,
		"--web.listen-address="+addr, "--state.directory="+t.TempDir(), "--ebpf.enable", "--journal.sink=none",
		"--podman.socket=unix:///nonexistent/podman.sock")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	testenv.WaitReady(t, addr, 20*time.Second)
	if v := scrapeValue(t, addr, "podexporter_ebpf_enabled", nil); v != 0 {
		t.Errorf("podexporter_ebpf_enabled = %v without capabilities, want 0", v)
	}
	if v := scrapeValue(t, addr, "podexporter_ready", nil); v != 1 {
		t.Errorf("podexporter_ready = %v, want 1", v)
	}
	if n := strings.Count(stderr.String(), "CAP_BPF is missing"); n != 1 {
		t.Errorf("the log names CAP_BPF %d times, want once:\n%s", n, stderr.String())
	}
}

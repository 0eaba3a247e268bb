package bpf

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// fileKiB is the size of the file the server container serves; each fetch moves it once.
const fileKiB = 4096

// netDev is one network namespace's counters over every interface but loopback, read
// by the test itself from /proc/PID/net/dev as the independent reference.
type netDev struct{ rxBytes, rxPackets, txBytes, txPackets uint64 }

func readNetDev(t *testing.T, pid int) netDev {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n netDev
	sc := bufio.NewScanner(f)
	for i := 0; sc.Scan(); i++ {
		iface, rest, ok := strings.Cut(sc.Text(), ":")
		if i < 2 || !ok || strings.TrimSpace(iface) == "lo" {
			continue
		}
		v := strings.Fields(rest)
		u := func(i int) uint64 { x, _ := strconv.ParseUint(v[i], 10, 64); return x }
		n.rxBytes += u(0)
		n.rxPackets += u(1)
		n.txBytes += u(8)
		n.txPackets += u(9)
	}
	return n
}

// ipLevel removes the 14-byte Ethernet header /proc/net/dev counts and the programs,
// which see packets from the IP header on, do not.
func (n netDev) ipLevel() Counters {
	return Counters{RxBytes: n.rxBytes - 14*n.rxPackets, RxPackets: n.rxPackets, TxBytes: n.txBytes - 14*n.txPackets, TxPackets: n.txPackets}
}

func (n netDev) minus(o netDev) netDev {
	return netDev{n.rxBytes - o.rxBytes, n.rxPackets - o.rxPackets, n.txBytes - o.txBytes, n.txPackets - o.txPackets}
}

func within(t *testing.T, what string, got, want uint64, tolerance float64) {
	t.Helper()
	diff := float64(got) - float64(want)
	if want == 0 || diff/float64(want) > tolerance || -diff/float64(want) > tolerance {
		t.Errorf("%s: eBPF %d, /proc %d (off by %.3f%%, allowed %.1f%%)", what, got, want, 100*diff/float64(max(want, 1)), 100*tolerance)
		return
	}
	t.Logf("%s: eBPF %d, /proc %d (off by %.3f%%)", what, got, want, 100*diff/float64(want))
}

func compare(t *testing.T, who string, got Counters, ref netDev) {
	t.Helper()
	want := ref.ipLevel()
	within(t, who+" receive bytes", got.RxBytes, want.RxBytes, 0.01)
	within(t, who+" transmit bytes", got.TxBytes, want.TxBytes, 0.01)
	within(t, who+" receive packets", got.RxPackets, want.RxPackets, 0.01)
	within(t, who+" transmit packets", got.TxPackets, want.TxPackets, 0.01)
}

func inspect(t *testing.T, name, format string) string {
	t.Helper()
	out, err := exec.Command("podman", "inspect", "--format", format, name).Output()
	if err != nil {
		t.Fatalf("podman inspect %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

func podmanExec(t *testing.T, name string, cmd ...string) {
	t.Helper()
	out, err := exec.Command("podman", append([]string{"exec", name}, cmd...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman exec %s %v: %v: %s", name, cmd, err, out)
	}
}

// refresh reads the map and walks the tree now, as the periodic refresh does.
func (s *Source) refresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.walkedAt = time.Time{}
	s.walkLocked()
	s.refreshLocked(true)
}

func (c Counters) minus(o Counters) Counters {
	return Counters{c.RxBytes - o.RxBytes, c.RxPackets - o.RxPackets, c.TxBytes - o.TxBytes, c.TxPackets - o.TxPackets}
}

func startSource(t *testing.T) *Source {
	t.Helper()
	s := NewSource(Options{Extras: true})
	if !s.Enabled() {
		t.Fatalf("eBPF source disabled as root: %s", s.Problem())
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Two containers exchange a known volume over the Podman bridge; each one's counters
// must match its own network namespace's /proc/net/dev. Then a host-network container
// fetches the same file, and is counted though it has no namespace of its own.
func TestContainerCountersMatchNetDev(t *testing.T) {
	p := testenv.RequirePodman(t)
	s := startSource(t)

	// A network of its own: other tests' containers on the default bridge would flood
	// ours with their ARP and IPv6 multicast, which /proc/net/dev counts.
	network := testenv.UniqueName("ebpf-net")
	if out, err := exec.Command("podman", "network", "create", network).CombinedOutput(); err != nil {
		t.Fatalf("podman network create: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("podman", "network", "rm", "-f", network).Run() })
	// No IPv6 in the containers: their own neighbour discovery and MLD reports come from
	// the kernel without a socket, which the programs rightly do not count.
	onNet := []string{"--network", network, "--sysctl", "net.ipv6.conf.all.disable_ipv6=1"}

	server := testenv.UniqueName("ebpf-server")
	serverID := p.Run(t, server, onNet, "sh", "-c",
		fmt.Sprintf("mkdir /www && dd if=/dev/zero of=/www/f bs=1024 count=%d 2>/dev/null && dd if=/dev/zero of=/www/s bs=1024 count=32 2>/dev/null && "+
			"(sleep 600 | nc -l -p 9000 >/dev/null &) && exec httpd -f -p 8080 -h /www", fileKiB))
	client := testenv.UniqueName("ebpf-client")
	clientID := p.Run(t, client, onNet, "sh", "-c", fmt.Sprintf("dd if=/dev/zero of=/up bs=1024 count=%d 2>/dev/null; exec sleep 600", fileKiB))
	ip := inspect(t, server, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")
	url := "http://" + ip + ":8080/"
	// Wait by looking, not by connecting: a refused connection is answered by the
	// kernel with no socket, which /proc/net/dev counts and the programs cannot.
	serverPID, _ := strconv.Atoi(inspect(t, server, "{{.State.Pid}}"))
	testenv.Eventually(t, 10*time.Second, "the server to listen on 8080 and 9000", func() bool {
		v4, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp", serverPID))
		v6, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp6", serverPID))
		tcp := string(v4) + string(v6)
		return strings.Contains(tcp, ":1F90 0") && strings.Contains(tcp, ":2328 0")
	})
	// Compare what happens from here on: setting up the interfaces is noisy.
	serverPID0 := serverPID
	clientPID0, _ := strconv.Atoi(inspect(t, client, "{{.State.Pid}}"))
	serverBefore, clientBefore := readNetDev(t, serverPID0), readNetDev(t, clientPID0)
	s.refresh()
	serverBase, _ := s.Container(serverID)
	clientBase, _ := s.Container(clientID)
	// Bulk both ways for the bytes, and many short connections for the packets.
	podmanExec(t, client, "sh", "-c", "nc "+ip+" 9000 </up; for i in 1 2 3 4 5; do wget -q -O /dev/null "+url+"f; done; "+
		"i=0; while [ $i -lt 200 ]; do wget -q -O /dev/null "+url+"s; i=$((i+1)); done")

	clientPID, _ := strconv.Atoi(inspect(t, client, "{{.State.Pid}}"))
	serverRef, clientRef := readNetDev(t, serverPID).minus(serverBefore), readNetDev(t, clientPID).minus(clientBefore)
	s.refresh()
	serverGot, ok := s.Container(serverID)
	if !ok {
		t.Fatal("no counters for the server container")
	}
	clientGot, ok := s.Container(clientID)
	if !ok {
		t.Fatal("no counters for the client container")
	}
	if min := uint64(5 * fileKiB * 1024); clientGot.RxBytes < min {
		t.Fatalf("client received %d bytes by eBPF, want at least %d", clientGot.RxBytes, min)
	}
	compare(t, "server", serverGot.minus(serverBase), serverRef)
	compare(t, "client", clientGot.minus(clientBase), clientRef)

	t.Run("host network", func(t *testing.T) {
		hostName := testenv.UniqueName("ebpf-hostnet")
		hostID := p.Run(t, hostName, []string{"--network", "host"}, "sleep", "600")
		s.refresh() // a new container: as the daemon's next stats poll would
		base, _ := s.Container(hostID)
		before := readNetDev(t, serverPID)
		podmanExec(t, hostName, "sh", "-c", "for i in 1 2 3; do wget -q -O /dev/null "+url+"f; done; "+
			"i=0; while [ $i -lt 150 ]; do wget -q -O /dev/null "+url+"s; i=$((i+1)); done")
		delta := readNetDev(t, serverPID).minus(before)
		s.refresh()
		got, ok := s.Container(hostID)
		if !ok {
			t.Fatal("no counters for the host-network container")
		}
		// The host-network container received what the server sent, and vice versa.
		mirrored := netDev{rxBytes: delta.txBytes, rxPackets: delta.txPackets, txBytes: delta.rxBytes, txPackets: delta.rxPackets}
		compare(t, "host-network container", got.minus(base), mirrored)
	})

	t.Run("vanished container", func(t *testing.T) {
		s.mu.Lock()
		var ids []uint64
		for id, owner := range s.res.owner {
			if owner == clientID {
				ids = append(ids, id)
			}
		}
		s.mu.Unlock()
		if len(ids) == 0 {
			t.Fatal("the resolver knows no cgroup of the client")
		}
		p.Remove(client)
		s.refresh()
		s.mu.Lock()
		m, err := s.counter.Read()
		s.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if _, ok := m[id]; ok {
				t.Errorf("map entry of removed container's cgroup %d is still there", id)
			}
		}
		if _, ok := s.Container(clientID); ok {
			t.Error("a removed container still has counters")
		}
	})
}

// Without capabilities the source must come up disabled, say what is missing, and not
// fail. The loader runs in a child process whose capabilities setpriv removed.
func TestWithoutCapabilities(t *testing.T) {
	if os.Getenv("PODEXPORTER_EBPF_CHILD") == "1" {
		s := NewSource(Options{})
		fmt.Printf("enabled=%v problem=%s\n", s.Enabled(), s.Problem())
		return
	}
	testenv.RequireRoot(t)
	setpriv := testenv.RequireTool(t, "setpriv")
	cmd := exec.Command(setpriv, "--inh-caps=-all", "--bounding-set=-all", os.Args[0], "-test.run=^TestWithoutCapabilities$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PODEXPORTER_EBPF_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "enabled=false") || !strings.Contains(string(out), "CAP_BPF") {
		t.Fatalf("child without capabilities: want enabled=false naming CAP_BPF, got:\n%s", out)
	}
	t.Logf("child: %s", strings.TrimSpace(strings.Split(string(out), "\n")[0]))
}

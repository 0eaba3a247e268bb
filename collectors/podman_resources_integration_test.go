package collectors

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// Resource, lifecycle and outage tests of the Podman source, per Podman service.

func TestPodmanRestartAndOOM(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		h := startPodman(t, nil, p.Socket)

		restarter := testenv.UniqueName("restart")
		p.Run(t, restarter, []string{"--restart", "on-failure:2"}, "sh", "-c", "sleep 0.3; exit 1")
		var in inspected
		testenv.Eventually(t, 30*time.Second, "podman to restart the container twice", func() bool {
			in = inspect(t, p, restarter)
			return in.RestartCount >= 2 && in.State.Status == "exited"
		})
		h.waitValue("podman_container_restarts_total", id12(in.ID), float64(in.RestartCount), 10*time.Second)
		h.waitValue("podman_container_exit_code", id12(in.ID), 1, 5*time.Second)

		oom := testenv.UniqueName("oom")
		// A 64 MiB shell variable in a 16 MiB container.
		p.Run(t, oom, []string{"--memory", "16m", "--memory-swap", "16m"}, "sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); sleep 600")
		testenv.Eventually(t, 30*time.Second, "the kernel to OOM-kill the container", func() bool {
			in = inspect(t, p, oom)
			return in.State.Status == "exited"
		})
		// Podman 4.3 on cgroup v1 memory does not notice memcg OOM kills, so its inspect
		// cannot be the reference here: the kernel's own record of the kill is.
		if !in.State.OOMKilled && !kernelLogsOOM(t, in.ID) {
			t.Fatalf("neither podman (exit %d) nor the kernel log shows an OOM kill of %s", in.State.ExitCode, in.ID)
		}
		h.waitValue("podman_container_oom_killed", id12(in.ID), 1, 10*time.Second)
		h.waitValue("podman_container_exit_code", id12(in.ID), float64(in.State.ExitCode), 5*time.Second)
	})
}

// kernelLogsOOM looks for the kernel's oom-kill line naming the container's memory cgroup.
func kernelLogsOOM(t *testing.T, id string) bool {
	t.Helper()
	out, err := exec.Command("dmesg").Output()
	if err != nil {
		t.Fatalf("dmesg: %v", err)
	}
	return strings.Contains(string(out), "oom_memcg=") && strings.Contains(string(out), "libpod-"+id)
}

// netDev reads a container's counters as the kernel has them, by the test itself.
func netDev(t *testing.T, pid int) (rx, tx uint64) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n")[2:] {
		iface, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(iface) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		r, _ := strconv.ParseUint(f[0], 10, 64)
		x, _ := strconv.ParseUint(f[8], 10, 64)
		rx, tx = rx+r, tx+x
	}
	return rx, tx
}

func TestPodmanNetworkCounters(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		h := startPodman(t, nil, p.Socket)
		server := testenv.UniqueName("httpd")
		p.Run(t, server, nil, "sh", "-c", "mkdir -p /www && head -c 1048576 /dev/zero > /www/blob && httpd -f -p 8080 -h /www")
		srv := inspect(t, p, server)
		var ip string
		testenv.Eventually(t, 10*time.Second, "the server's IP", func() bool {
			ip = p.Output(t, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", server)
			return ip != ""
		})
		client := testenv.UniqueName("wget")
		// Ten fetches of 1 MiB, then idle so the counters stand still for the comparison.
		p.Run(t, client, nil, "sh", "-c", fmt.Sprintf("sleep 1; for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O /dev/null http://%s:8080/blob; done; sleep 600", ip))
		cli := inspect(t, p, client)

		testenv.Eventually(t, 30*time.Second, "the client to receive 10 MiB", func() bool {
			rx, _ := netDev(t, cli.State.Pid)
			return rx > 10<<20
		})
		time.Sleep(500 * time.Millisecond) // let the last packets settle
		for _, c := range []inspected{srv, cli} {
			rx, tx := netDev(t, c.State.Pid)
			// Up to 30 s: a loaded host stretches the 1 s stats polls; wrong counters never
			// come within 2%, so waiting longer cannot make a wrong result pass.
			testenv.Eventually(t, 30*time.Second, "exported counters within 2% of /proc/PID/net/dev", func() bool {
				grx := h.value("podman_container_network_receive_bytes_total", id12(c.ID))
				gtx := h.value("podman_container_network_transmit_bytes_total", id12(c.ID))
				return math.Abs(grx-float64(rx)) <= 0.02*float64(rx) && math.Abs(gtx-float64(tx)) <= 0.02*float64(tx)
			})
			if compat, conv := h.value("podman_container_net_input_total", id12(c.ID)), h.value("podman_container_network_receive_bytes_total", id12(c.ID)); compat != conv {
				t.Errorf("compatible and conventional receive counters differ: %v vs %v", compat, conv)
			}
		}

		host := testenv.UniqueName("hostnet")
		p.Run(t, host, []string{"--network", "host"}, "sleep", "600")
		hid := id12(inspect(t, p, host).ID)
		h.waitValue("podman_container_host_network", hid, 1, 10*time.Second)
		time.Sleep(1500 * time.Millisecond) // a stats poll later, still no counters
		if v := h.value("podman_container_network_receive_bytes_total", hid); !math.IsNaN(v) {
			t.Errorf("host-network container reported %v received bytes; it must report none", v)
		}
	})
}

// TestPodmanServiceRestart kills a real Podman API service of the test's own (on its own
// socket, so other tests keep theirs), restarts it, and watches up go 0 then 1.
func TestPodmanServiceRestart(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		sock := t.TempDir() + "/podman.sock"
		uri := "unix://" + sock
		startService := func() *exec.Cmd {
			cmd := p.Command("system", "service", "--time=0", uri)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, 10*time.Second, "the service socket", func() bool { _, err := os.Stat(sock); return err == nil })
			return cmd
		}
		svc := startService()
		h := startPodman(t, nil, uri)
		svcLabel := map[string]string{"podman_service": uri}
		h.waitValue("podexporter_podman_up", svcLabel, 1, 15*time.Second)

		_ = svc.Process.Kill()
		_ = svc.Wait()
		os.Remove(sock)
		h.waitValue("podexporter_podman_up", svcLabel, 0, 10*time.Second)
		h.waitValue("podexporter_podman_snapshot_stale", svcLabel, 1, time.Second)

		// Changes made while the service is down show up after the reconnect's full re-list.
		name := testenv.UniqueName("afterrestart")
		id := p.Run(t, name, nil, "sleep", "600")
		svc = startService()
		t.Cleanup(func() { _ = svc.Process.Kill(); _ = svc.Wait() })
		h.waitValue("podexporter_podman_up", svcLabel, 1, 45*time.Second)
		h.waitValue("podman_container_state", map[string]string{"id": id[:12], "podman_service": uri}, 2, 10*time.Second)
		if got := h.value("podexporter_podman_event_stream_reconnects_total", svcLabel); got < 1 {
			t.Errorf("reconnects = %v, want at least 1", got)
		}
	})
}

// TestPodmanStatsMatchPodmanCLI compares resource values with `podman stats`, which
// computes them in the podman CLI from the same cgroups.
func TestPodmanStatsMatchPodmanCLI(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		h := startPodman(t, nil, p.Socket)
		name := testenv.UniqueName("stats")
		// Writes 4 MiB once, then sleeps: the counters stand still for the comparison.
		id := p.Run(t, name, []string{"--memory", "256m"}, "sh", "-c", "head -c 4194304 /dev/urandom > /blob; sync; sleep 600")
		time.Sleep(1500 * time.Millisecond)
		out := p.Output(t, "stats", "--no-stream", "--format",
			"{{.ContainerStats.CPUNano}} {{.ContainerStats.CPUSystemNano}} {{.ContainerStats.MemUsage}} {{.ContainerStats.MemLimit}} {{.ContainerStats.PIDs}}", name)
		var cpu, sys, mem, limit, pids float64
		if _, err := fmt.Sscan(out, &cpu, &sys, &mem, &limit, &pids); err != nil {
			t.Fatalf("parse %q: %v", out, err)
		}
		l := id12(id)
		tests := []struct {
			metric string
			want   float64
			tol    float64 // relative
		}{
			{"podman_container_cpu_seconds_total", cpu / 1e9, 0.05},
			{"podman_container_cpu_system_seconds_total", sys / 1e9, 0.05},
			{"podman_container_cpu_user_seconds_total", (cpu - sys) / 1e9, 0.05},
			{"podman_container_mem_usage_bytes", mem, 0.05},
			{"podman_container_mem_limit_bytes", limit, 0},
			{"podman_container_pids", pids, 0},
		}
		for _, tc := range tests {
			testenv.Eventually(t, 10*time.Second, fmt.Sprintf("%s within %.0f%% of podman stats' %v", tc.metric, tc.tol*100, tc.want), func() bool {
				got := h.value(tc.metric, l)
				return math.Abs(got-tc.want) <= tc.tol*tc.want+1e-3
			})
		}
		if limit != 256<<20 {
			t.Errorf("podman stats says limit %v, want 256 MiB", limit)
		}
		// The memory cgroup detail is consistent with usage.
		ws := h.value("podman_container_memory_working_set_bytes", l)
		if ws <= 0 || ws > h.value("podman_container_mem_usage_bytes", l) {
			t.Errorf("working set %v not in (0, usage]", ws)
		}
	})
}

// breakContainer leaves a container the way a host crash does: Podman still records
// it as running, but its processes and cgroups are gone, so Podman cannot give its
// stats (and, before podexporter asked for containers one by one, a stats call for
// all containers failed with it).
func breakContainer(t *testing.T, p *testenv.Podman, name string) {
	t.Helper()
	out := p.Output(t, "inspect", "--format", "{{.Id}} {{.State.Pid}} {{.State.ConmonPid}}", name)
	var id string
	var pid, conmon int
	if _, err := fmt.Sscan(out, &id, &pid, &conmon); err != nil {
		t.Fatalf("parse %q: %v", out, err)
	}
	for _, k := range []int{conmon, pid} {
		if err := syscall.Kill(k, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
	}
	var dirs []string
	err := filepath.WalkDir("/sys/fs/cgroup", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if strings.Contains(d.Name(), id) {
			dirs = append(dirs, path)
		}
		return nil
	})
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cgroup directory of container %s found (%v)", id, err)
	}
	testenv.Eventually(t, 5*time.Second, "the container's cgroups removed", func() bool {
		left := 0
		for _, d := range slices.Backward(dirs) {
			if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
				left++
			}
		}
		return left == 0
	})
}

// TestPodmanStatsSurviveBrokenContainer: one container Podman cannot give stats for
// must not take the others' resource metrics with it.
func TestPodmanStatsSurviveBrokenContainer(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		broken := testenv.UniqueName("stats-broken")
		p.Run(t, broken, nil, "sleep", "600")
		breakContainer(t, p, broken)
		if got := strings.TrimSpace(p.Output(t, "inspect", "--format", "{{.State.Status}}", broken)); got != "running" {
			t.Fatalf("broken container is %q to Podman, want running (the crash case)", got)
		}
		if out, err := p.Command("stats", "--no-stream", broken).CombinedOutput(); err == nil {
			t.Fatalf("podman stats works for the broken container, so this test proves nothing: %s", out)
		}

		h := startPodman(t, nil, p.Socket)
		healthy := testenv.UniqueName("stats-healthy")
		id := p.Run(t, healthy, nil, "sleep", "600")
		testenv.Eventually(t, 15*time.Second, "CPU time of the healthy container next to a broken one", func() bool {
			return h.value("podman_container_cpu_seconds_total", id12(id)) > 0
		})
		if got := h.value("podexporter_podman_errors_total", map[string]string{"call": "stats"}); got < 1 {
			t.Errorf("stats errors = %v, want the broken container counted", got)
		}
	})
}

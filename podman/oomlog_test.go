package podman

import (
	"context"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

func TestOOMLineMatches(t *testing.T) {
	id := strings.Repeat("ab", 32)
	for line, want := range map[string]string{
		"6,4410,3570573188,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=libpod-" + id + ",mems_allowed=0,oom_memcg=/libpod_parent/libpod-" + id + ",task_memcg=/libpod_parent/libpod-" + id + ",task=sh,pid=31544,uid=0\n": id,
		"6,1,1,-;oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/machine.slice/libpod-" + id + ".scope,task_memcg=/machine.slice/libpod-" + id + ".scope/container,task=x,pid=1,uid=0\n":                                                    id,
		"6,2,2,-;oom-kill:constraint=CONSTRAINT_NONE,task_memcg=/user.slice,task=chrome,pid=9,uid=1000\n":                                                                                                                                   "",
		"6,3,3,-;Memory cgroup out of memory: Killed process 1520 (sh)\n":                                                                                                                                                                   "",
	} {
		got := ""
		if m := oomLine.FindStringSubmatch(line); m != nil {
			got = m[1]
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", line, got, want)
		}
	}
}

// TestOOMLogSeesRealKill: a container that the kernel OOM-kills is named by the log,
// whichever Podman started it.
func TestOOMLogSeesRealKill(t *testing.T) {
	testenv.EachPodman(t, func(t *testing.T, p *testenv.Podman) {
		l := NewOOMLog()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
		time.Sleep(200 * time.Millisecond) // Run seeks to the end first
		name := testenv.UniqueName("oomlog")
		id := p.Run(t, name, []string{"--memory", "16m", "--memory-swap", "16m"}, "sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a)")
		testenv.Eventually(t, 20*time.Second, "the kernel's OOM line for the container", func() bool { return l.Killed(id) })
		if out, _ := exec.Command("dmesg").Output(); !strings.Contains(string(out), "libpod-"+id) {
			t.Fatal("dmesg does not name the container, yet the log did")
		}
	})
}

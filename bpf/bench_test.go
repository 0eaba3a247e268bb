package bpf

import (
	"io"
	"net"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/podexporter/podexporter/internal/testenv"
)

// BenchmarkLoopbackTCP is a netperf TCP_RR-style measure of what the programs cost: one
// op is a 64-byte request and its 64-byte answer over loopback TCP (two packets, each
// seen once on egress and once on ingress), without and with the programs attached at
// the cgroup2 root. With them attached it also reports the kernel's own measure of
// program run time per run (BPF_ENABLE_STATS), which is the per-packet cost per hook.
func BenchmarkLoopbackTCP(b *testing.B) {
	testenv.RequireRoot(b)
	b.Run("Baseline", func(b *testing.B) { rr(b) }) // programs detached
	b.Run("attached", func(b *testing.B) {
		root, err := cgroup2Mount("/proc/self/mountinfo")
		if err != nil {
			b.Fatal(err)
		}
		c, err := Attach(root)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
		if err != nil {
			b.Fatal(err)
		}
		defer stats.Close()
		before, _ := c.Stats()
		rr(b)
		after, _ := c.Stats()
		var runs, ns float64
		for i := range after {
			runs += float64(after[i].Runs - before[i].Runs)
			ns += float64(after[i].Runtime - before[i].Runtime)
		}
		if runs > 0 {
			b.ReportMetric(ns/runs, "prog-ns/run")
			b.ReportMetric(runs/float64(b.N), "runs/op")
		}
	})
}

// rr runs b.N request/response round trips over one loopback TCP connection.
func rr(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s, err := l.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		buf := make([]byte, 64)
		for {
			if _, err := io.ReadFull(s, buf); err != nil {
				return
			}
			if _, err := s.Write(buf); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64)
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	c.Close()
	<-done
}

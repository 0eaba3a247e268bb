package bpf

import (
	"fmt"
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

// BenchmarkMapRead is the cost of one poll of the counters map with 100 and 1,000
// cgroups in it (the budget is 1 ms for 1,000). The programs are loaded, not attached.
func BenchmarkMapRead(b *testing.B) {
	testenv.RequireRoot(b)
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("cgroups=%d", n), func(b *testing.B) {
			c := &Counter{}
			if err := loadNetcountObjects(&c.objs, nil); err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			cpus, err := ebpf.PossibleCPU()
			if err != nil {
				b.Fatal(err)
			}
			vals := make([]netcountCounters, cpus)
			for i := range vals {
				vals[i] = netcountCounters{RxBytes: 1500, RxPackets: 1, TxBytes: 100, TxPackets: 1}
			}
			for id := range uint64(n) {
				if err := c.objs.Counters.Put(id+1, vals); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				m, err := c.Read()
				if err != nil || len(m) != n {
					b.Fatalf("read %d entries, %v", len(m), err)
				}
			}
		})
	}
}

// BenchmarkLoopbackStream moves 4 MiB per op over loopback TCP, without and with the
// programs attached: the throughput of a large transfer, which must not change beyond
// noise.
func BenchmarkLoopbackStream(b *testing.B) {
	testenv.RequireRoot(b)
	b.Run("Baseline", func(b *testing.B) { stream(b) })
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
		stream(b)
	})
}

func stream(b *testing.B) {
	const size = 4 << 20
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			s, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer s.Close(); _, _ = io.Copy(io.Discard, s) }()
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		for sent := 0; sent < size; sent += len(buf) {
			if _, err := c.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestBatchReadMatchesWalk: the batched read returns exactly what walking the map
// key by key returns.
func TestBatchReadMatchesWalk(t *testing.T) {
	testenv.RequireRoot(t)
	c := &Counter{}
	if err := loadNetcountObjects(&c.objs, nil); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	for id := range uint64(700) {
		vals := make([]netcountCounters, cpus)
		for i := range vals {
			vals[i] = netcountCounters{RxBytes: id * uint64(i+1), RxPackets: id, TxBytes: 7, TxPackets: uint64(i)}
		}
		if err := c.objs.Counters.Put(id+1, vals); err != nil {
			t.Fatal(err)
		}
	}
	batch, err := c.readBatch()
	if err != nil {
		t.Fatal(err)
	}
	each, err := c.readEach()
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != 700 || len(each) != 700 {
		t.Fatalf("batch %d, walk %d entries; want 700", len(batch), len(each))
	}
	for id, v := range each {
		if batch[id] != v {
			t.Fatalf("cgroup %d: batch %+v, walk %+v", id, batch[id], v)
		}
	}
}

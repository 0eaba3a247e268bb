package bpf

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -target bpfel -cflags "-O2 -g -Wall -I/usr/include/x86_64-linux-gnu" netcount netcount.c
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -target bpfel -cflags "-O2 -g -Wall -I/usr/include/x86_64-linux-gnu" extras extras.c

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Counters are one cgroup's (or one container's) IP-level traffic: bytes start at the
// IP header, so they are smaller than /proc/net/dev's by the link header (14 bytes per
// packet on Ethernet and veth).
type Counters struct {
	RxBytes, RxPackets, TxBytes, TxPackets uint64
}

// Add returns the sum of two counter sets.
func (c Counters) Add(o Counters) Counters {
	return Counters{c.RxBytes + o.RxBytes, c.RxPackets + o.RxPackets, c.TxBytes + o.TxBytes, c.TxPackets + o.TxPackets}
}

// ProgramStats is what the kernel measured of one program while BPF stats were on.
type ProgramStats struct {
	Name    string
	Runs    uint64
	Runtime time.Duration
}

// Counter is the cgroup_skb pair loaded and attached at a cgroup2 root. Nothing is
// pinned: closing it (or the process ending) detaches the programs.
type Counter struct {
	objs  netcountObjects
	links []link.Link
}

// Attach loads the counting programs and attaches them to the cgroup2 hierarchy at
// root, which covers every cgroup below it: rootful, rootless and host-network
// containers alike. Errors say which capability or setting is missing.
func Attach(root string) (*Counter, error) {
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; later ones ignore it,
	// and liftMemlock then does nothing. A failure only matters if loading fails.
	memlock := liftMemlock()
	c := &Counter{}
	if err := loadNetcountObjects(&c.objs, nil); err != nil {
		if memlock != nil {
			return nil, fmt.Errorf("load cgroup_skb programs (RLIMIT_MEMLOCK could not be lifted: %v; set LimitMEMLOCK=infinity): %w", memlock, err)
		}
		return nil, fmt.Errorf("load cgroup_skb programs (needs CAP_BPF, or CAP_SYS_ADMIN on older kernels): %w", err)
	}
	for _, a := range []struct {
		prog *ebpf.Program
		typ  ebpf.AttachType
	}{
		{c.objs.CountIngress, ebpf.AttachCGroupInetIngress},
		{c.objs.CountEgress, ebpf.AttachCGroupInetEgress},
	} {
		l, err := link.AttachCgroup(link.CgroupOptions{Path: root, Attach: a.typ, Program: a.prog})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("attach to cgroup2 root %s (needs CAP_NET_ADMIN): %w", root, err)
		}
		c.links = append(c.links, l)
	}
	return c, nil
}

// Read returns every map entry, summed over CPUs, keyed by cgroup id. It reads in
// batches (one syscall per 1,024 entries) where the kernel supports it: walking the map a
// key at a time costs two syscalls per cgroup, about 9 ms for 1,000 cgroups here.
func (c *Counter) Read() (map[uint64]Counters, error) {
	out, err := c.readBatch()
	if err == nil {
		return out, nil
	}
	if !errors.Is(err, ebpf.ErrNotSupported) {
		return nil, fmt.Errorf("read counters map: %w", err)
	}
	return c.readEach()
}

func (c *Counter) readBatch() (map[uint64]Counters, error) {
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, err
	}
	const chunk = 1024
	keys := make([]uint64, chunk)
	vals := make([]netcountCounters, chunk*cpus)
	out := map[uint64]Counters{}
	var cursor ebpf.MapBatchCursor
	for {
		n, err := c.objs.Counters.BatchLookup(&cursor, keys, vals, nil)
		for i := range n {
			var sum Counters
			for _, v := range vals[i*cpus : (i+1)*cpus] {
				sum = sum.Add(Counters{v.RxBytes, v.RxPackets, v.TxBytes, v.TxPackets})
			}
			out[keys[i]] = sum
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return out, nil // the end of the map
		}
		if err != nil {
			return nil, err
		}
	}
}

func (c *Counter) readEach() (map[uint64]Counters, error) {
	out := map[uint64]Counters{}
	var (
		id     uint64
		perCPU []netcountCounters
	)
	it := c.objs.Counters.Iterate()
	for it.Next(&id, &perCPU) {
		var sum Counters
		for _, v := range perCPU {
			sum = sum.Add(Counters{v.RxBytes, v.RxPackets, v.TxBytes, v.TxPackets})
		}
		out[id] = sum
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read counters map: %w", err)
	}
	return out, nil
}

// Delete removes the entries of cgroups that no longer exist, so the map does not
// fill with the dead.
func (c *Counter) Delete(ids []uint64) error {
	var errs []error
	for _, id := range ids {
		if err := c.objs.Counters.Delete(id); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("delete cgroup %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// Stats returns the kernel's run count and run time of both programs. They only grow
// while BPF stats are enabled (EnableStats or sysctl kernel.bpf_stats_enabled=1).
func (c *Counter) Stats() ([]ProgramStats, error) {
	var out []ProgramStats
	for _, p := range []struct {
		name string
		prog *ebpf.Program
	}{{"count_ingress", c.objs.CountIngress}, {"count_egress", c.objs.CountEgress}} {
		s, err := p.prog.Stats()
		if err != nil {
			return nil, fmt.Errorf("stats of %s: %w", p.name, err)
		}
		out = append(out, ProgramStats{Name: p.name, Runs: s.RunCount, Runtime: s.Runtime})
	}
	return out, nil
}

// Close detaches the programs and frees them and the map.
func (c *Counter) Close() error {
	var errs []error
	for _, l := range c.links {
		errs = append(errs, l.Close())
	}
	c.links = nil
	errs = append(errs, c.objs.Close())
	return errors.Join(errs...)
}

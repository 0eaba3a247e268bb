package bpf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// tracefsDirs are where tracefs is usually mounted, newest convention first.
var tracefsDirs = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// Extras are the optional tracepoint programs: TCP retransmits and packet drops by
// reason, per socket cgroup.
type Extras struct {
	objs    extrasObjects
	links   []link.Link
	reasons map[uint32]string
}

// DropKey is a cgroup and the kernel's drop reason name.
type DropKey struct {
	Cgroup uint64
	Reason string
}

// AttachExtras loads and attaches the tracepoint programs. Field offsets come from the
// tracefs format files and reason names from kfree_skb's print format, so nothing
// about them is compiled in.
func AttachExtras() (*Extras, error) {
	dir, err := tracefs()
	if err != nil {
		return nil, err
	}
	retrans, _, err := readFormat(filepath.Join(dir, "events/tcp/tcp_retransmit_skb/format"))
	if err != nil {
		return nil, err
	}
	kfree, printFmt, err := readFormat(filepath.Join(dir, "events/skb/kfree_skb/format"))
	if err != nil {
		return nil, err
	}
	if _, ok := retrans["skaddr"]; !ok {
		return nil, errors.New("tcp:tcp_retransmit_skb has no skaddr field")
	}
	if _, ok := kfree["skbaddr"]; !ok {
		return nil, errors.New("skb:kfree_skb has no skbaddr field")
	}
	spec, err := loadExtras()
	if err != nil {
		return nil, fmt.Errorf("parse extras object: %w", err)
	}
	for name, off := range map[string]int32{
		"retransmit_skaddr_off": offsetOr(retrans, "skaddr"),
		"kfree_skbaddr_off":     offsetOr(kfree, "skbaddr"),
		"kfree_rx_sk_off":       offsetOr(kfree, "rx_sk"),  // 6.12 and later
		"kfree_reason_off":      offsetOr(kfree, "reason"), // 5.17 and later
	} {
		if err := spec.Variables[name].Set(off); err != nil {
			return nil, fmt.Errorf("set %s: %w", name, err)
		}
	}
	x := &Extras{reasons: dropReasons(printFmt)}
	if err := spec.LoadAndAssign(&x.objs, nil); err != nil {
		return nil, fmt.Errorf("load tracepoint programs (needs CAP_BPF and CAP_PERFMON, and kernel BTF at /sys/kernel/btf/vmlinux): %w", err)
	}
	for _, tp := range []struct {
		group, name string
		prog        *ebpf.Program
	}{
		{"tcp", "tcp_retransmit_skb", x.objs.CountRetransmit},
		{"skb", "kfree_skb", x.objs.CountDrop},
	} {
		l, err := link.Tracepoint(tp.group, tp.name, tp.prog, nil)
		if err != nil {
			x.Close()
			return nil, fmt.Errorf("attach to tracepoint %s:%s (needs CAP_PERFMON and tracefs): %w", tp.group, tp.name, err)
		}
		x.links = append(x.links, l)
	}
	return x, nil
}

func tracefs() (string, error) {
	for _, d := range tracefsDirs {
		if _, err := os.Stat(filepath.Join(d, "events")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("tracefs is not mounted (mount -t tracefs tracefs /sys/kernel/tracing)")
}

func offsetOr(fields map[string]int32, name string) int32 {
	if off, ok := fields[name]; ok {
		return off
	}
	return -1
}

var formatField = regexp.MustCompile(`field:([^;]*);\s*offset:(\d+);`)

// readFormat returns the field offsets of a tracepoint format file and its print fmt.
func readFormat(path string) (map[string]int32, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read tracepoint format: %w", err)
	}
	return parseFormat(string(data))
}

func parseFormat(data string) (map[string]int32, string, error) {
	fields := map[string]int32{}
	var printFmt string
	for _, line := range strings.Split(data, "\n") {
		if p, ok := strings.CutPrefix(line, "print fmt:"); ok {
			printFmt = p
			continue
		}
		m := formatField.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		decl := strings.Fields(m[1])
		if len(decl) == 0 {
			continue
		}
		name := decl[len(decl)-1]
		if i := strings.IndexByte(name, '['); i >= 0 {
			name = name[:i]
		}
		off, err := strconv.ParseInt(m[2], 10, 32)
		if err != nil {
			return nil, "", fmt.Errorf("field %s: %w", name, err)
		}
		fields[strings.TrimPrefix(name, "*")] = int32(off)
	}
	if len(fields) == 0 {
		return nil, "", errors.New("no fields in tracepoint format")
	}
	return fields, printFmt, nil
}

var symbol = regexp.MustCompile(`\{\s*(\d+)\s*,\s*"([^"]*)"\s*\}`)

// dropReasons reads the reason names out of kfree_skb's print format, where the kernel
// lists them as __print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, ...).
func dropReasons(printFmt string) map[uint32]string {
	out := map[uint32]string{}
	_, rest, ok := strings.Cut(printFmt, "__print_symbolic(REC->reason")
	if !ok {
		return out
	}
	for _, m := range symbol.FindAllStringSubmatch(rest, -1) {
		n, err := strconv.ParseUint(m[1], 10, 32)
		if err == nil {
			out[uint32(n)] = m[2]
		}
	}
	return out
}

// Retransmits returns TCP retransmits per socket cgroup.
func (x *Extras) Retransmits() (map[uint64]uint64, error) {
	out := map[uint64]uint64{}
	var (
		id     uint64
		perCPU []uint64
	)
	it := x.objs.Retransmits.Iterate()
	for it.Next(&id, &perCPU) {
		out[id] = sum(perCPU)
	}
	return out, it.Err()
}

// Drops returns dropped packets per socket cgroup and reason name.
func (x *Extras) Drops() (map[DropKey]uint64, error) {
	out := map[DropKey]uint64{}
	var (
		k      extrasDropKey
		perCPU []uint64
	)
	it := x.objs.Drops.Iterate()
	for it.Next(&k, &perCPU) {
		out[DropKey{Cgroup: k.Cgroup, Reason: x.reasonName(k.Reason)}] += sum(perCPU)
	}
	return out, it.Err()
}

func (x *Extras) reasonName(r uint32) string {
	if n, ok := x.reasons[r]; ok {
		return n
	}
	return "reason_" + strconv.FormatUint(uint64(r), 10)
}

// DeleteCgroups removes the entries of vanished cgroups.
func (x *Extras) DeleteCgroups(gone map[uint64]bool) {
	var id uint64
	var perCPU []uint64
	var del []uint64
	it := x.objs.Retransmits.Iterate()
	for it.Next(&id, &perCPU) {
		if gone[id] {
			del = append(del, id)
		}
	}
	for _, id := range del {
		_ = x.objs.Retransmits.Delete(id)
	}
	var k extrasDropKey
	var delK []extrasDropKey
	it = x.objs.Drops.Iterate()
	for it.Next(&k, &perCPU) {
		if gone[k.Cgroup] {
			delK = append(delK, k)
		}
	}
	for _, k := range delK {
		_ = x.objs.Drops.Delete(k)
	}
}

// Stats returns the run count and time of the tracepoint programs.
func (x *Extras) Stats() []ProgramStats {
	var out []ProgramStats
	for _, p := range []struct {
		name string
		prog *ebpf.Program
	}{{"count_retransmit", x.objs.CountRetransmit}, {"count_drop", x.objs.CountDrop}} {
		if s, err := p.prog.Stats(); err == nil {
			out = append(out, ProgramStats{Name: p.name, Runs: s.RunCount, Runtime: s.Runtime})
		}
	}
	return out
}

// Close detaches and frees the tracepoint programs.
func (x *Extras) Close() error {
	var errs []error
	for _, l := range x.links {
		errs = append(errs, l.Close())
	}
	x.links = nil
	errs = append(errs, x.objs.Close())
	return errors.Join(errs...)
}

func sum(v []uint64) uint64 {
	var s uint64
	for _, x := range v {
		s += x
	}
	return s
}

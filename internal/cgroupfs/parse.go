package cgroupfs

import (
	"bytes"
	"errors"
	"fmt"
)

// The parsers take a file's bytes as the kernel writes them and never panic, whatever
// the bytes: a file can be anything on a bind-mounted or faked tree. They work in place
// (no strings, no maps), since each runs for every container every stats round.

// unlimitedV1 is where cgroup v1's byte limits mean "none": the kernel writes its page
// counter's maximum (PAGE_COUNTER_MAX pages, 9223372036854771712 with 4 KiB pages, less
// with larger pages), and no real limit comes near 4 EiB.
const unlimitedV1 = 1 << 62

var errSyntax = errors.New("syntax")

// keyed walks the "key value" lines of a flat keyed file (memory.stat, cpu.stat,
// memory.events, memory.oom_control), calling f with each key and its value. Lines
// that are not a key and a decimal number are skipped: the kernel adds keys over time,
// and a value we cannot read is no reason to lose the others.
func keyed(data []byte, f func(key []byte, v uint64)) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		k, v, ok := bytes.Cut(line, []byte{' '})
		if !ok {
			continue
		}
		if n, ok := parseUint(v); ok {
			f(k, n)
		}
	}
}

// parseUint reads a decimal number without allocating.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// trim drops the trailing newline (and any space) of a one-value file.
func trim(data []byte) []byte { return bytes.TrimRight(data, " \n") }

// parseLimit reads a one-value limit file: cgroup v2 writes "max" for none (memory.max,
// memory.high, memory.swap.max, pids.max), v1 a number (pids.max also "max") that is
// -1 (cpu.cfs_quota_us) or huge (memory.limit_in_bytes) for none. limited is false for
// none.
func parseLimit(data []byte) (v uint64, limited bool, err error) {
	s := trim(data)
	switch {
	case string(s) == "max", string(s) == "-1":
		return 0, false, nil
	}
	v, ok := parseUint(s)
	if !ok {
		return 0, false, fmt.Errorf("limit %.40q: %w", s, errSyntax)
	}
	if v >= unlimitedV1 {
		return 0, false, nil
	}
	return v, true, nil
}

// parseCPUMax reads cgroup v2's cpu.max, "$MAX $PERIOD" in microseconds, where $MAX is
// "max" when the cgroup has no CPU limit.
func parseCPUMax(data []byte) (quota, period uint64, limited bool, err error) {
	q, p, ok := bytes.Cut(trim(data), []byte{' '})
	if !ok {
		return 0, 0, false, fmt.Errorf("cpu.max %.40q: %w", data, errSyntax)
	}
	period, ok = parseUint(p)
	if !ok || period == 0 {
		return 0, 0, false, fmt.Errorf("cpu.max period %.40q: %w", p, errSyntax)
	}
	if string(q) == "max" {
		return 0, period, false, nil
	}
	quota, ok = parseUint(q)
	if !ok {
		return 0, 0, false, fmt.Errorf("cpu.max quota %.40q: %w", q, errSyntax)
	}
	return quota, period, true, nil
}

// maxCPUs bounds a CPU list: the kernel's NR_CPUS is at most 8192, and a bound keeps
// "0-18446744073709551615" from counting for ever.
const maxCPUs = 1 << 16

// parseCPUList counts the CPUs of a list such as "0-3,8,10-11" (cpuset.cpus.effective,
// cpuset.effective_cpus). An empty list is 0 CPUs.
func parseCPUList(data []byte) (int, error) {
	s := trim(data)
	n := 0
	for len(s) > 0 {
		part := s
		if i := bytes.IndexByte(s, ','); i >= 0 {
			part, s = s[:i], s[i+1:]
		} else {
			s = nil
		}
		lo, hi, isRange := bytes.Cut(part, []byte{'-'})
		a, ok := parseUint(lo)
		if !ok || a >= maxCPUs {
			return 0, fmt.Errorf("cpu list %.40q: %w", data, errSyntax)
		}
		b := a
		if isRange {
			if b, ok = parseUint(hi); !ok || b < a || b >= maxCPUs {
				return 0, fmt.Errorf("cpu list %.40q: %w", data, errSyntax)
			}
		}
		n += int(b-a) + 1
		if n > maxCPUs {
			return 0, fmt.Errorf("cpu list %.40q: more than %d CPUs: %w", data, maxCPUs, errSyntax)
		}
	}
	return n, nil
}

// parsePressure reads a PSI file (cpu.pressure, memory.pressure, io.pressure):
//
//	some avg10=0.00 avg60=0.00 avg300=0.00 total=0
//	full avg10=0.00 avg60=0.00 avg300=0.00 total=0
//
// and returns the two totals, in microseconds; has says which lines were there (cpu
// has "full" since Linux 5.13).
func parsePressure(data []byte) (some, full uint64, hasSome, hasFull bool) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		kind, rest, _ := bytes.Cut(line, []byte{' '})
		var total uint64
		var ok bool
		for len(rest) > 0 && !ok {
			field := rest
			if i := bytes.IndexByte(rest, ' '); i >= 0 {
				field, rest = rest[:i], rest[i+1:]
			} else {
				rest = nil
			}
			if v, found := bytes.CutPrefix(field, []byte("total=")); found {
				total, ok = parseUint(v)
				if !ok {
					break
				}
			}
		}
		if !ok {
			continue
		}
		switch string(kind) {
		case "some":
			some, hasSome = total, true
		case "full":
			full, hasFull = total, true
		}
	}
	return some, full, hasSome, hasFull
}

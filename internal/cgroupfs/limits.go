package cgroupfs

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Have says which values of a Limits the kernel offered. A limit that is set to
// "none" (max, -1) is not had: there is nothing to export.
type Have uint32

// The values of a Limits, one bit each.
const (
	HaveCPULimit   Have = 1 << iota // CPUQuota and CPUPeriod
	HaveCPUs                        // CPUs
	HaveThrottling                  // Periods, ThrottledPeriods, ThrottledTime
	HaveMemoryMax                   // MemoryMax
	HaveMemoryHigh                  // MemoryHigh
	HaveMemoryPeak                  // MemoryPeak
	HaveSwapUsage                   // SwapUsage
	HaveSwapMax                     // SwapMax
	HaveLowEvents                   // LowEvents
	HaveHighEvents                  // HighEvents
	HaveMaxEvents                   // MaxEvents
	HaveOOMEvents                   // OOMEvents
	HaveOOMKills                    // OOMKills
	HavePIDsMax                     // PIDsMax
	HaveCPUSome                     // Pressure[PressureCPU].Some, and so on
	HaveCPUFull
	HaveMemorySome
	HaveMemoryFull
	HaveIOSome
	HaveIOFull
)

// static are the limits: they change only when someone changes the container (podman
// update, which Podman 4.3 has no event for), so they are read less often than the
// counters (Ages).
const static = HaveCPULimit | HaveCPUs | HaveMemoryMax | HaveMemoryHigh | HaveSwapMax | HavePIDsMax

// Resource is what a pressure (PSI) file measures stalls on.
type Resource int

// The resources with pressure files, as indexes of Limits.Pressure.
const (
	PressureCPU Resource = iota
	PressureMemory
	PressureIO
)

// Stall is one resource's pressure: the total time some (at least one) or all non-idle
// tasks of the cgroup were stalled on it.
type Stall struct{ Some, Full time.Duration }

// Limits is what the kernel enforces on a container's cgroup and how often it stepped
// in: CPU quota and throttling, memory limits, peak, swap and events, the pids limit,
// and pressure stall time. Only the values Have names are set.
type Limits struct {
	Have Have
	// The cgroup may run CPUQuota of CPU time every CPUPeriod: CPUQuota/CPUPeriod cores.
	CPUQuota, CPUPeriod time.Duration
	// CPUs is how many CPUs the cgroup's cpuset lets it run on.
	CPUs int
	// Periods are the enforcement periods in which the cgroup had runnable tasks under
	// a CPU limit; ThrottledPeriods those in which it used up its quota, and
	// ThrottledTime how long its tasks were held back in all.
	Periods, ThrottledPeriods uint64
	ThrottledTime             time.Duration

	MemoryMax, MemoryHigh, MemoryPeak uint64
	SwapUsage, SwapMax                uint64
	// Times the cgroup was reclaimed under its memory.low protection, throttled over
	// memory.high, hit memory.max, ran out of memory, and had a task OOM-killed.
	LowEvents, HighEvents, MaxEvents, OOMEvents, OOMKills uint64

	PIDsMax uint64

	Pressure [3]Stall

	// LimitsRead and CountersRead are when the limits and the rest were last read.
	LimitsRead, CountersRead time.Time
	// missing are the files that were not there, not tried again until the limits are.
	missing uint32
}

// Ages says how old the parts of a previous reading may be before Read reads them
// again. The counters and pressure are six or seven files a container, each about 9 µs
// of system time on a VM even opened by name in a directory kept open (Files), where
// memory.stat and /proc/PID/net/dev, kept open, cost 10 µs together: read every round,
// the counters would be most of the round's reading, so they are read every second
// round, and the limits (four more files) once a slow interval.
type Ages struct {
	Limits, Counters time.Duration
}

// AgesFor is what the stats round uses: the counters every second round, the limits
// every slow interval. Half a round of slack keeps a late round from skipping one.
func AgesFor(statsInterval, slowInterval time.Duration) Ages {
	return Ages{Limits: slowInterval, Counters: statsInterval * 3 / 2}
}

// Has says whether all of h are set.
func (l *Limits) Has(h Have) bool { return l.Have&h == h }

// file names one file Read may read, as a bit of Limits.missing.
type file uint

const (
	fCPUMax      file = iota // v2 cpu.max
	fCPUQuota                // v1 cpu.cfs_quota_us
	fCPUPeriod               // v1 cpu.cfs_period_us
	fCPUStat                 // cpu.stat
	fCPUSet                  // v2 cpuset.cpus.effective, v1 cpuset.effective_cpus
	fMemoryMax               // v2 memory.max
	fMemoryHigh              // v2 memory.high
	fSwapMax                 // v2 memory.swap.max
	fMemoryPeak              // v2 memory.peak, v1 memory.max_usage_in_bytes
	fSwapCurrent             // v2 memory.swap.current
	fEvents                  // v2 memory.events
	fFailcnt                 // v1 memory.failcnt
	fOOMControl              // v1 memory.oom_control
	fPIDsMax                 // pids.max
	fPressure                // cpu.pressure; memory.pressure and io.pressure follow
	fMemoryStat  = fPressure + 3
)

// counterFiles are the files read every counters round: Files opens them relative to
// the cgroup's directory, kept open, instead of walking their whole path.
const counterFiles = 1<<fCPUStat | 1<<fMemoryPeak | 1<<fSwapCurrent | 1<<fEvents | 1<<fFailcnt | 1<<fOOMControl |
	1<<fPressure | 1<<(fPressure+1) | 1<<(fPressure+2)

// maxDirs bounds the hierarchies whose directory Files keeps: the counters are read
// from memory's, cpu's and cgroup2 (pressure), one and the same on cgroup v2.
const maxDirs = 3

// Files keeps what Read opens again and again for one container, so that the stats
// round does not walk each file's path (seven names below /sys) every time: memory.stat,
// read every round, kept open and read again from its start (kept.read); and the
// cgroup's directory in each hierarchy the counters are read from, opened O_PATH, from
// which the counter files are opened by name. At most 4 descriptors: memory.stat and 3
// directories on a hybrid host (cpu's only with a CPU limit), 2 on cgroup v2.
//
// Every counter file could be kept open too, for a third of the cost again, but each
// open cgroup file holds a page of kernel memory for its seq_file buffer (about 4.5 KB
// with its structures, charged to podexporter's memory cgroup), 40 KB per container for
// all of them; a directory opened O_PATH holds about 0.3 KB.
//
// The zero Files has nothing open. Close it when the container stops or is removed:
// what is kept of a removed cgroup only fails (ENODEV, ENOENT).
type Files struct {
	path string // the cgroup they are of
	stat kept   // memory.stat
	dirs [maxDirs]struct {
		mount string // the hierarchy's mount point, "" for none
		fd    kept
	}
	// reopened says the last Read found memory.stat or a directory kept open no longer
	// readable: the cgroup was removed since (the container stopped or restarted).
	reopened bool
}

// Close closes what is kept open; the Files may be used again.
func (f *Files) Close() {
	f.stat.close()
	f.closeDirs()
	f.path = ""
}

func (f *Files) closeDirs() {
	for i := range f.dirs {
		f.dirs[i].fd.close()
		f.dirs[i].mount = ""
	}
}

// Reopened says the last Read found what was kept open unreadable and read the path
// afresh: the container's cgroup was removed since the read before (it stopped or
// restarted), and so was what else was kept open for it, such as its process's
// /proc/PID/net/dev.
func (f *Files) Reopened() bool { return f.reopened }

// dir returns the cgroup's directory in the hierarchy mounted at mount, opening it when
// open is set and it is not yet; 0 when there is none.
func (f *Files) dir(mount, rel string, open bool) kept {
	free := -1
	for i := range f.dirs {
		switch d := &f.dirs[i]; {
		case d.mount == mount:
			return d.fd
		case d.mount == "" && free < 0:
			free = i
		}
	}
	if !open || free < 0 {
		return 0
	}
	d := &f.dirs[free]
	if d.fd.open(mount+rel, unix.O_PATH|unix.O_DIRECTORY) {
		d.mount = mount
	}
	return d.fd
}

// dropDir closes the directory kept for the hierarchy at mount.
func (f *Files) dropDir(mount string) {
	for i := range f.dirs {
		if d := &f.dirs[i]; d.mount == mount {
			d.fd.close()
			d.mount = ""
		}
	}
}

// Reading is one look at a container's cgroup.
type Reading struct {
	// Memory is memory.stat's detail; MemoryErr says why it could not be read.
	Memory    Memory
	MemoryErr error
	Limits    Limits
}

// Read reads a container's cgroup at path (as inspect's State.CgroupPath gives it)
// from each controller's hierarchy: its v1 hierarchy where the host mounts one, else
// cgroup2. Pressure comes from cgroup2 alone, which hybrid hosts also have.
//
// memory.stat is read every time. prev is the previous reading's Limits, or nil: its
// limits and counters are kept while younger than ages says, and the files it found
// missing are not tried again until the limits are read. A file that is not there
// (cgroup2 without controllers, PSI off, an older kernel) is left out silently.
func (m *Mounts) Read(path string, prev *Limits, ages Ages, now time.Time) Reading {
	return m.ReadWith(nil, path, prev, ages, now)
}

// ReadWith is Read through files, which keeps the files read every round open from one
// call to the next (nil opens and closes each). files must be used for one container
// at a time; a path other than the last one's closes what it kept.
func (m *Mounts) ReadWith(files *Files, path string, prev *Limits, ages Ages, now time.Time) Reading {
	bp := buffers.Get().(*[]byte)
	r := reader{m: m, rel: "/" + strings.TrimPrefix(path, "/"), buf: *bp, files: files}
	if files != nil {
		if files.path != r.rel {
			files.Close()
			files.path = r.rel
		}
		files.reopened = false
	}
	var out Reading
	lim := &out.Limits
	r.lim = lim
	stale := func(at time.Time, age time.Duration) bool { return now.Sub(at) >= age || now.Before(at) }
	limits := prev == nil || stale(prev.LimitsRead, ages.Limits)
	counters := limits || stale(prev.CountersRead, ages.Counters)
	switch {
	case limits:
		lim.LimitsRead, lim.CountersRead = now, now
	case counters:
		*lim = Limits{Have: prev.Have & static, LimitsRead: prev.LimitsRead, CountersRead: now, missing: prev.missing,
			CPUQuota: prev.CPUQuota, CPUPeriod: prev.CPUPeriod, CPUs: prev.CPUs,
			MemoryMax: prev.MemoryMax, MemoryHigh: prev.MemoryHigh, SwapMax: prev.SwapMax, PIDsMax: prev.PIDsMax}
	default:
		*lim = *prev
	}
	out.Memory, out.MemoryErr = r.memory(limits)
	if counters {
		r.cpu(limits)
		r.memoryLimits(limits)
		if dir, _ := m.dir("pids"); limits {
			if v, limited, ok := r.limit(dir, "pids.max", fPIDsMax); ok && limited {
				lim.PIDsMax, lim.Have = v, lim.Have|HavePIDsMax
			}
		}
		r.pressure()
	}
	*bp = r.buf[:0]
	buffers.Put(bp)
	return out
}

// dir is the hierarchy a controller's files are in, and whether it is v1's.
func (m *Mounts) dir(controller string) (string, bool) {
	if d, ok := m.V1[controller]; ok {
		return d, true
	}
	return m.Unified, false
}

// reader is one Read in progress.
type reader struct {
	m    *Mounts
	rel  string // the cgroup's path below a hierarchy's mount point, with a leading /
	buf  []byte
	lim  *Limits
	gone []string // hierarchies in which the cgroup's directory is not there
	// files keeps the files read every round open, or is nil.
	files *Files
}

// file reads the cgroup's file name in the hierarchy at dir. With Files, memory.stat
// through the file kept open, the counter files opened by name in the directory kept
// open; anything that fails that way is read by its path, which tells a file that is
// not there from a cgroup that is not.
func (r *reader) file(dir, name string, f file) ([]byte, error) {
	var data []byte
	var err error
	switch {
	case r.files != nil && f == fMemoryStat:
		var reopened bool
		data, reopened, err = r.files.stat.read(func() string { return dir + r.rel + "/" + name }, r.buf)
		if reopened {
			// A new cgroup at the same path: the directories kept are the old one's.
			r.files.reopened = true
			r.files.closeDirs()
		}
	case r.files != nil:
		d := r.files.dir(dir, r.rel, counterFiles&(1<<f) != 0)
		if d != 0 {
			if data, err = readAt(int(d-1), name, r.buf); err == nil {
				break
			}
		}
		// Not in the directory kept (ENOENT): not there, or the directory is a
		// removed cgroup's. The path says which.
		data, err = readFile(dir+r.rel+"/"+name, r.buf)
		if d != 0 && err == nil {
			r.files.dropDir(dir)
			r.files.reopened = true
		}
	default:
		data, err = readFile(dir+r.rel+"/"+name, r.buf)
	}
	if cap(data) > cap(r.buf) {
		r.buf = data[:0]
	}
	return data, err
}

// read reads a file of the cgroup in the hierarchy at dir; ok is false when it is not
// there or cannot be read. A file that is not there in a directory that is, is noted
// in missing; a directory that is gone (the container stopping between the stats call
// and this read) says nothing of the next one's files.
func (r *reader) read(dir, name string, f file) (data []byte, ok bool) {
	if dir == "" || r.lim.missing&(1<<f) != 0 {
		return nil, false
	}
	for _, g := range r.gone {
		if g == dir {
			return nil, false
		}
	}
	data, err := r.file(dir, name, f)
	if err == nil {
		return data, true
	}
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(dir + r.rel); err == nil {
			r.lim.missing |= 1 << f
		} else {
			r.gone = append(r.gone, dir)
		}
	}
	return nil, false
}

// limit reads a one-value limit file.
func (r *reader) limit(dir, name string, f file) (v uint64, limited, ok bool) {
	data, ok := r.read(dir, name, f)
	if !ok {
		return 0, false, false
	}
	v, limited, err := parseLimit(data)
	return v, limited, err == nil
}

// value reads a one-number file (memory.peak, memory.failcnt, ...).
func (r *reader) value(dir, name string, f file) (uint64, bool) {
	data, ok := r.read(dir, name, f)
	if !ok {
		return 0, false
	}
	return parseUint(trim(data))
}

// memory reads memory.stat. On v1 it also holds the limits (hierarchical_*: the
// cgroup's own, or an ancestor's where that is lower) and the swap in use, which saves
// three files a round.
func (r *reader) memory(refresh bool) (Memory, error) {
	dir, v1 := r.m.dir("memory")
	if dir == "" {
		return Memory{}, errors.New("no memory cgroup hierarchy")
	}
	data, err := r.file(dir, "memory.stat", fMemoryStat)
	if err != nil {
		return Memory{}, err
	}
	mem, v1mem := parseMemoryStat(data, v1)
	if !v1 {
		return mem, nil
	}
	lim := r.lim
	if v1mem.haveSwap {
		lim.SwapUsage, lim.Have = v1mem.swap, lim.Have|HaveSwapUsage
	}
	if refresh && v1mem.limit > 0 && v1mem.limit < unlimitedV1 {
		lim.MemoryMax, lim.Have = v1mem.limit, lim.Have|HaveMemoryMax
		if v1mem.memsw >= v1mem.limit && v1mem.memsw < unlimitedV1 {
			lim.SwapMax, lim.Have = v1mem.memsw-v1mem.limit, lim.Have|HaveSwapMax
		}
	}
	return mem, nil
}

// memoryLimits reads the memory files beyond memory.stat: the limits (v2), the peak,
// swap in use (v2) and the events.
func (r *reader) memoryLimits(refresh bool) {
	dir, v1 := r.m.dir("memory")
	lim := r.lim
	if v1 {
		if v, ok := r.value(dir, "memory.max_usage_in_bytes", fMemoryPeak); ok {
			lim.MemoryPeak, lim.Have = v, lim.Have|HaveMemoryPeak
		}
		if v, ok := r.value(dir, "memory.failcnt", fFailcnt); ok {
			lim.MaxEvents, lim.Have = v, lim.Have|HaveMaxEvents
		}
		if data, ok := r.read(dir, "memory.oom_control", fOOMControl); ok {
			keyed(data, func(k []byte, v uint64) {
				if string(k) == "oom_kill" {
					lim.OOMKills, lim.Have = v, lim.Have|HaveOOMKills
				}
			})
		}
		return
	}
	if refresh {
		for _, l := range []struct {
			name string
			f    file
			v    *uint64
			have Have
		}{
			{"memory.max", fMemoryMax, &lim.MemoryMax, HaveMemoryMax},
			{"memory.high", fMemoryHigh, &lim.MemoryHigh, HaveMemoryHigh},
			{"memory.swap.max", fSwapMax, &lim.SwapMax, HaveSwapMax},
		} {
			if v, limited, ok := r.limit(dir, l.name, l.f); ok && limited {
				*l.v, lim.Have = v, lim.Have|l.have
			}
		}
	}
	if v, ok := r.value(dir, "memory.peak", fMemoryPeak); ok {
		lim.MemoryPeak, lim.Have = v, lim.Have|HaveMemoryPeak
	}
	if v, ok := r.value(dir, "memory.swap.current", fSwapCurrent); ok {
		lim.SwapUsage, lim.Have = v, lim.Have|HaveSwapUsage
	}
	if data, ok := r.read(dir, "memory.events", fEvents); ok {
		keyed(data, func(k []byte, v uint64) {
			switch string(k) {
			case "low":
				lim.LowEvents, lim.Have = v, lim.Have|HaveLowEvents
			case "high":
				lim.HighEvents, lim.Have = v, lim.Have|HaveHighEvents
			case "max":
				lim.MaxEvents, lim.Have = v, lim.Have|HaveMaxEvents
			case "oom":
				lim.OOMEvents, lim.Have = v, lim.Have|HaveOOMEvents
			case "oom_kill":
				lim.OOMKills, lim.Have = v, lim.Have|HaveOOMKills
			}
		})
	}
}

// cpu reads the CPU limit, the cpuset's size and the throttling counters.
func (r *reader) cpu(refresh bool) {
	lim := r.lim
	dir, v1 := r.m.dir("cpu")
	if refresh {
		if v1 {
			quota, limited, ok := r.limit(dir, "cpu.cfs_quota_us", fCPUQuota)
			if ok && limited {
				if period, ok := r.value(dir, "cpu.cfs_period_us", fCPUPeriod); ok && period > 0 {
					lim.CPUQuota, lim.CPUPeriod, lim.Have = micros(quota), micros(period), lim.Have|HaveCPULimit
				}
			}
		} else if data, ok := r.read(dir, "cpu.max", fCPUMax); ok {
			if quota, period, limited, err := parseCPUMax(data); err == nil && limited {
				lim.CPUQuota, lim.CPUPeriod, lim.Have = micros(quota), micros(period), lim.Have|HaveCPULimit
			}
		}
		setDir, setV1 := r.m.dir("cpuset")
		name := "cpuset.cpus.effective"
		if setV1 {
			name = "cpuset.effective_cpus"
		}
		if data, ok := r.read(setDir, name, fCPUSet); ok {
			if n, err := parseCPUList(data); err == nil && n > 0 {
				lim.CPUs, lim.Have = n, lim.Have|HaveCPUs
			}
		}
	}
	// Without a CPU limit of its own the cgroup has no enforcement periods: cpu.stat's
	// throttling counters stay 0 (or where a lifted limit left them), so there is
	// nothing to read and the families are absent, as the limit is.
	if !lim.Has(HaveCPULimit) {
		if memDir, _ := r.m.dir("memory"); r.files != nil && dir != memDir && dir != r.m.Unified {
			r.files.dropDir(dir) // kept for cpu.stat alone
		}
		return
	}
	data, ok := r.read(dir, "cpu.stat", fCPUStat)
	if !ok {
		return
	}
	var periods bool
	keyed(data, func(k []byte, v uint64) {
		switch string(k) {
		case "nr_periods":
			lim.Periods, periods = v, true
		case "nr_throttled":
			lim.ThrottledPeriods = v
		case "throttled_usec": // v2
			lim.ThrottledTime = micros(v)
		case "throttled_time": // v1, in nanoseconds
			lim.ThrottledTime = time.Duration(min(v, 1<<63-1))
		}
	})
	// cgroup2's cpu.stat has usage only, without the cpu controller.
	if periods {
		lim.Have |= HaveThrottling
	}
}

// pressure reads the PSI files, which only cgroup2 has.
func (r *reader) pressure() {
	lim := r.lim
	for i, name := range [...]string{"cpu.pressure", "memory.pressure", "io.pressure"} {
		data, ok := r.read(r.m.Unified, name, fPressure+file(i))
		if !ok {
			continue
		}
		some, full, hasSome, hasFull := parsePressure(data)
		if hasSome {
			lim.Pressure[i].Some, lim.Have = micros(some), lim.Have|HaveCPUSome<<(2*i)
		}
		if hasFull {
			lim.Pressure[i].Full, lim.Have = micros(full), lim.Have|HaveCPUFull<<(2*i)
		}
	}
}

// micros turns a kernel count of microseconds into a Duration, saturating where a
// corrupt file would overflow it.
func micros(v uint64) time.Duration {
	if v > (1<<63-1)/1000 {
		return 1<<63 - 1
	}
	return time.Duration(v) * time.Microsecond
}

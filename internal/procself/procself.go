// Package procself exports podexporter's own process_* families, named and described
// as client_golang's process collector names them, for a fraction of its cost per
// scrape.
//
// client_golang's collector reads five files on every scrape through procfs, which
// allocates for each: /proc/self/stat, /proc/stat (all of it, for the boot time, to
// compute a start time that never changes), the whole /proc/self/fd listing as strings,
// /proc/self/limits through a regular expression and /proc/self/net/netstat. At 100
// containers that was a quarter of a scrape's CPU and a third of its garbage, which with
// GOGC=50 sets how often the heap is collected under back-to-back scraping. Here the
// start time is read once, the limits come from getrlimit, the descriptors are counted
// from the directory's raw entries and /proc/self/stat is parsed in place.
//
// process_network_receive_bytes_total and process_network_transmit_bytes_total are left
// out: /proc/self/net/netstat counts the whole network namespace, which for a daemon on
// the host's network is every byte the host moves, not podexporter's.
package procself

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podexporter/podexporter/internal/cgroupfs"
)

// userHZ is the unit of the times in /proc/PID/stat: USER_HZ, 100 on every Linux
// architecture Go runs on (sysconf(_SC_CLK_TCK), as procfs assumes too).
const userHZ = 100

var (
	cpuDesc      = prometheus.NewDesc("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", nil, nil)
	openFDsDesc  = prometheus.NewDesc("process_open_fds", "Number of open file descriptors.", nil, nil)
	maxFDsDesc   = prometheus.NewDesc("process_max_fds", "Maximum number of open file descriptors.", nil, nil)
	vsizeDesc    = prometheus.NewDesc("process_virtual_memory_bytes", "Virtual memory size in bytes.", nil, nil)
	maxVsizeDesc = prometheus.NewDesc("process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.", nil, nil)
	rssDesc      = prometheus.NewDesc("process_resident_memory_bytes", "Resident memory size in bytes.", nil, nil)
	startDesc    = prometheus.NewDesc("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", nil, nil)
)

// Collector collects the process_* families of the process it runs in.
type Collector struct {
	proc      string  // the process's /proc directory
	pageSize  float64 // the unit of stat's rss
	startTime float64 // seconds since the epoch; fixed for the process's life
}

// New returns a Collector of the running process, or an error when /proc cannot say
// when it started.
func New() (*Collector, error) {
	return newCollector("/proc", "self")
}

func newCollector(procRoot, pid string) (*Collector, error) {
	c := &Collector{proc: procRoot + "/" + pid, pageSize: float64(os.Getpagesize())}
	st, err := c.stat()
	if err != nil {
		return nil, err
	}
	btime, err := bootTime(procRoot + "/stat")
	if err != nil {
		return nil, err
	}
	c.startTime = btime + float64(st.startTicks)/userHZ
	return c, nil
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cpuDesc, openFDsDesc, maxFDsDesc, vsizeDesc, maxVsizeDesc, rssDesc, startDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A value that cannot be read is an invalid
// metric, which fails the scrape's gathering as client_golang's collector does with
// ReportErrors: the others are served all the same.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if st, err := c.stat(); err == nil {
		ch <- prometheus.MustNewConstMetric(cpuDesc, prometheus.CounterValue, float64(st.utime+st.stime)/userHZ)
		ch <- prometheus.MustNewConstMetric(vsizeDesc, prometheus.GaugeValue, float64(st.vsize))
		ch <- prometheus.MustNewConstMetric(rssDesc, prometheus.GaugeValue, float64(st.rss)*c.pageSize)
	} else {
		ch <- prometheus.NewInvalidMetric(cpuDesc, err)
	}
	ch <- prometheus.MustNewConstMetric(startDesc, prometheus.GaugeValue, c.startTime)
	if n, err := countEntries(c.proc + "/fd"); err == nil {
		ch <- prometheus.MustNewConstMetric(openFDsDesc, prometheus.GaugeValue, float64(n))
	} else {
		ch <- prometheus.NewInvalidMetric(openFDsDesc, err)
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil {
		ch <- prometheus.MustNewConstMetric(maxFDsDesc, prometheus.GaugeValue, float64(rl.Cur))
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &rl); err == nil {
		ch <- prometheus.MustNewConstMetric(maxVsizeDesc, prometheus.GaugeValue, float64(rl.Cur))
	}
}

// procStat is what Collect needs of /proc/PID/stat.
type procStat struct {
	utime, stime, startTicks, vsize, rss uint64
}

// stat reads /proc/PID/stat through cgroupfs's reader of small kernel files (a
// pooled buffer, one open and read).
func (c *Collector) stat() (procStat, error) {
	var st procStat
	err := cgroupfs.ReadFile(c.proc+"/stat", func(data []byte) error {
		var err error
		st, err = parseStat(data)
		return err
	})
	return st, err
}

// parseStat parses a /proc/PID/stat line (proc(5)). The command name, in parentheses,
// may hold spaces and parentheses itself: the fields start after the last ')'.
func parseStat(data []byte) (procStat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, errors.New("stat: no command name")
	}
	// Fields numbered as in proc(5), where the state after the name is field 3.
	var st procStat
	rest := data[i+1:]
	for field := 3; field <= 24; field++ {
		var f []byte
		if f, rest = nextField(rest); f == nil {
			return procStat{}, fmt.Errorf("stat: %d fields, want at least 24", field-1)
		}
		var into *uint64
		switch field {
		case 14:
			into = &st.utime
		case 15:
			into = &st.stime
		case 22:
			into = &st.startTicks
		case 23:
			into = &st.vsize
		case 24:
			into = &st.rss // signed in the kernel, never negative for a live process
		default:
			continue
		}
		v, err := strconv.ParseUint(string(f), 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("stat field %d: %w", field, err)
		}
		*into = v
	}
	return st, nil
}

// nextField splits the first space-separated field off b; nil when there is none.
func nextField(b []byte) (field, rest []byte) {
	start := 0
	for start < len(b) && (b[start] == ' ' || b[start] == '\n') {
		start++
	}
	if start == len(b) {
		return nil, nil
	}
	end := start
	for end < len(b) && b[end] != ' ' && b[end] != '\n' {
		end++
	}
	return b[start:end], b[end:]
}

// bootTime reads the btime line of /proc/stat: seconds since the epoch.
func bootTime(path string) (float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(data) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: btime: %w", path, err)
			}
			return float64(n), nil
		}
	}
	return 0, fmt.Errorf("%s: no btime line", path)
}

// countEntries counts a directory's entries other than . and .., from the raw
// linux_dirent64 records: no name is made a string. Of /proc/PID/fd it counts the
// descriptor it reads the directory through too, as os.ReadDir's count would.
func countEntries(path string) (int, error) {
	fd, err := open(path, syscall.O_RDONLY|syscall.O_DIRECTORY)
	if err != nil {
		return 0, err
	}
	defer syscall.Close(fd)
	var buf [8192]byte
	n := 0
	for {
		got, err := syscall.ReadDirent(fd, buf[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, &os.PathError{Op: "getdents", Path: path, Err: err}
		}
		if got == 0 {
			return n, nil
		}
		n += countDirents(buf[:got])
	}
}

// countDirents counts the records of one getdents64 answer, leaving out . and ..:
// each is d_ino (8 bytes), d_off (8), d_reclen (2), d_type (1), then the name, NUL
// terminated.
func countDirents(b []byte) int {
	n := 0
	for len(b) >= 19 {
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < 19 || reclen > len(b) {
			break
		}
		name := b[19:reclen]
		if end := bytes.IndexByte(name, 0); end >= 0 {
			name = name[:end]
		}
		if string(name) != "." && string(name) != ".." {
			n++
		}
		b = b[reclen:]
	}
	return n
}

func open(path string, flags int) (int, error) {
	for {
		fd, err := syscall.Open(path, flags|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

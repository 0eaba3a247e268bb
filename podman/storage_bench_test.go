package podman

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// What storage costs, against the real services: the slow refresh's share spent on
// the file systems (info is fetched anyway; the statfs calls are new), and the size
// round's cost to podexporter and to Podman with df in place of the sized list. Run
// with go test -run '^$' -bench Storage -benchtime 20x ./podman.

// ownCPU is this process's user and system time.
func ownCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serviceCPU is the user and system time of the process serving a unix socket (the
// Podman service), from its SO_PEERCRED pid; -1 when it cannot be read.
func serviceCPU(socketURI string) time.Duration {
	c, err := net.Dial("unix", strings.TrimPrefix(socketURI, "unix://"))
	if err != nil {
		return -1
	}
	defer c.Close()
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		return -1
	}
	var cred *syscall.Ucred
	_ = raw.Control(func(fd uintptr) {
		cred, err = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if err != nil || cred == nil {
		return -1
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(int(cred.Pid)) + "/stat")
	if err != nil {
		return -1
	}
	// The fields after the command's closing parenthesis; utime and stime are the
	// 14th and 15th of the whole line, in clock ticks of 1/100 s.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(f) < 13 {
		return -1
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

func BenchmarkStorageSlowRefresh(b *testing.B) {
	for _, p := range testenv.RequirePodmanServices(b) {
		b.Run(p.Name(), func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			api, err := DialBindings(ctx, p.Socket, func(string) {})
			if err != nil {
				b.Fatal(err)
			}
			e := New(Options{URI: p.Socket, Dial: func(context.Context, string, func(string)) (API, error) { return api, nil },
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			info, err := api.Info()
			if err != nil || info.Store == nil {
				b.Fatalf("info: %v", err)
			}
			b.ResetTimer()
			cpu := ownCPU()
			for range b.N {
				if err := e.refreshSlow(api); err != nil {
					b.Fatal(err)
				}
			}
			refresh := (ownCPU() - cpu) / time.Duration(b.N)
			// The file systems alone, many times over: a statfs costs microseconds.
			const reps = 1000
			cpu = ownCPU()
			for range b.N * reps {
				fileSystems(info.Store, syscall.Statfs)
			}
			storage := (ownCPU() - cpu) / time.Duration(b.N*reps)
			b.ReportMetric(float64(refresh.Microseconds()), "refresh-cpu-us/op")
			b.ReportMetric(float64(storage.Nanoseconds())/1e3, "storage-cpu-us/op")
			b.ReportMetric(100*float64(storage)/float64(max(refresh-storage, 1)), "storage-%")
		})
	}
}

func BenchmarkStorageSizeRound(b *testing.B) {
	for _, p := range testenv.RequirePodmanServices(b) {
		ctx, cancel := context.WithCancel(context.Background())
		api, err := DialBindings(ctx, p.Socket, func(string) {})
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		for _, round := range []struct {
			name string
			call func() error
		}{
			{"df", func() error { _, err := api.SystemDf(); return err }},
			{"sized-list", func() error { _, err := api.ListContainers(true); return err }},
		} {
			b.Run(p.Name()+"/"+round.name, func(b *testing.B) {
				own, podman := ownCPU(), serviceCPU(p.Socket)
				for range b.N {
					if err := round.call(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64((ownCPU()-own).Microseconds())/float64(b.N), "own-cpu-us/op")
				if after := serviceCPU(p.Socket); podman >= 0 && after >= 0 {
					b.ReportMetric(float64((after-podman).Milliseconds())/float64(b.N), "podman-cpu-ms/op")
				}
			})
		}
		cancel()
	}
}

// BenchmarkStorageRoundsPaced runs an engine for 30 s per service twice, without size
// rounds and with one due every second, and reports the share of a core the service
// spent in each window (all of its CPU time: other clients' requests count too), the
// rounds that ran and the share of time spent in them up to the end of the last
// one's pause, which the pacer keeps at 5%. Run with -benchtime 1x.
func BenchmarkStorageRoundsPaced(b *testing.B) {
	for _, p := range testenv.RequirePodmanServices(b) {
		b.Run(p.Name(), func(b *testing.B) {
			const window = 30 * time.Second
			window30 := func(sizeEvery time.Duration) (share float64, rounds int, inRounds time.Duration, cycle time.Duration) {
				e := New(Options{URI: p.Socket, StatsInterval: time.Hour, SlowInterval: time.Hour, SizeInterval: sizeEvery,
					Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				ctx, cancel := context.WithTimeout(context.Background(), window)
				defer cancel()
				start, before, last := time.Now(), serviceCPU(p.Socket), time.Time{}
				done := make(chan struct{})
				go func() { defer close(done); _ = e.Run(ctx, func() {}) }()
				for ctx.Err() == nil {
					if m := e.Snapshot().Storage; m.Measured.After(last) {
						last = m.Measured
						rounds++
						inRounds += m.MeasureDuration
						cycle = m.Measured.Add(time.Duration(float64(m.MeasureDuration) * (1/sizeShare - 1))).Sub(start)
					}
					time.Sleep(50 * time.Millisecond)
				}
				<-done
				return (serviceCPU(p.Socket) - before).Seconds() / window.Seconds(), rounds, inRounds, max(cycle, window)
			}
			for range b.N {
				off, _, _, _ := window30(0)
				on, rounds, inRounds, cycle := window30(time.Second)
				b.ReportMetric(100*off, "podman-cpu-%-without")
				b.ReportMetric(100*on, "podman-cpu-%-with")
				b.ReportMetric(float64(rounds), "rounds")
				b.ReportMetric(100*inRounds.Seconds()/cycle.Seconds(), "in-rounds-%")
			}
		})
	}
}

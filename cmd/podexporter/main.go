// Command podexporter is the observability agent for Podman hosts: container metrics
// and journald logs, served to Prometheus and pushed as OTLP. This file is wiring only.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/prometheus/common/version"

	"github.com/podexporter/podexporter/cmd/podexporter/internal/config"
	"github.com/podexporter/podexporter/cmd/podexporter/internal/doctor"
	"github.com/podexporter/podexporter/collectors"
	"github.com/podexporter/podexporter/internal/logging"
)

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
	// The runtime samples one allocation per 512 KB for heap profiles, and keeps every
	// distinct stack it sampled for good, in a 1.4 MB hash table whose pages each new
	// stack touches at random. Nothing here serves profiles, yet that table and its
	// buckets grew the anonymous memory by about 100 KB a minute in the soak (50
	// containers, one replaced every 5 s) for as long as it ran, so sampling is off from
	// main on. GODEBUG=memprofilerate=N in the environment still turns it on.
	if !strings.Contains(os.Getenv("GODEBUG"), "memprofilerate=") {
		runtime.MemProfileRate = 0
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// defaultGCPercent lets the heap grow by half its live size between collections, not
// by all of it. The live heap is small (about 3 MB at 100 containers) and changes
// slowly, so collecting twice as often costs little CPU, while the headroom is what
// most of the anonymous memory is: at 100 containers scraped every second, 9.0 MiB
// instead of 11.7 (docs/performance.md). GOGC in the environment still wins.
const defaultGCPercent = 50

// run returns the exit code: 0 fine, 1 failed at run time, 2 bad configuration.
func run(args []string, stdout, stderr io.Writer) int {
	env := config.OSEnv()
	env.Stdout = stdout
	cfg, err := config.Parse(args, collectorFlags(), version.Print("podexporter"), env)
	if err != nil {
		fmt.Fprintln(stderr, "podexporter:", err)
		return 2
	}
	logger := logging.New(stderr, cfg.Log.Level, cfg.Log.Format)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	switch cfg.Command {
	case config.CmdVersion:
		fmt.Fprintln(stdout, version.Print("podexporter"))
		return 0
	case config.CmdHealthcheck:
		if err := healthcheck(ctx, cfg); err != nil {
			fmt.Fprintln(stderr, "podexporter healthcheck:", err)
			return 1
		}
		return 0
	case config.CmdDoctor:
		if doctor.Print(stdout, doctor.Run(ctx, cfg)) {
			return 1
		}
		return 0
	}
	for _, n := range cfg.Notices { // prometheus-podman-exporter's flags, once at start
		if n.Ignored {
			logger.Warn("prometheus-podman-exporter flag has no effect here", "flag", n.Flag, "notice", n.Text)
		} else {
			logger.Info("prometheus-podman-exporter flag accepted", "flag", n.Flag, "notice", n.Text)
		}
	}
	if err := daemon(ctx, cfg, logger); err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			fmt.Fprintln(stderr, "podexporter:", err)
			return 2
		}
		logger.Error("podexporter stopped", "err", err)
		return 1
	}
	return 0
}

// collectorFlags describes the registered collectors for their --collector.<name>
// flags: the collectors own the list, the configuration turns it into flags.
func collectorFlags() []config.Collector {
	var out []config.Collector
	for _, f := range collectors.Flags() {
		out = append(out, config.Collector{Name: f.Name, Help: f.Help, Default: f.Default})
	}
	return out
}

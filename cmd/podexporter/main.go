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
	"syscall"

	"github.com/prometheus/common/version"

	"github.com/podexporter/podexporter/collectors"
	"github.com/podexporter/podexporter/internal/config"
	"github.com/podexporter/podexporter/internal/doctor"
	"github.com/podexporter/podexporter/internal/logging"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run returns the exit code: 0 fine, 1 failed at run time, 2 bad configuration.
func run(args []string, stdout, stderr io.Writer) int {
	env := config.OSEnv()
	env.Stdout = stdout
	cfg, err := config.Parse(args, collectors.Flags(), version.Print("podexporter"), env)
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

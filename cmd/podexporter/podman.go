package main

import (
	"context"
	"log/slog"
	"slices"

	"github.com/podexporter/podexporter/cmd/podexporter/internal/config"
	"github.com/podexporter/podexporter/collectors"
	"github.com/podexporter/podexporter/internal/cgroupfs"
	"github.com/podexporter/podexporter/logrecord"
	"github.com/podexporter/podexporter/podman"
)

// podmanSource builds the Podman source when any collector reads it.
func podmanSource(cfg *config.Config, logger *slog.Logger, deps *collectors.Deps, onEvent func(podman.LifecycleEvent), positions *podman.EventPositions) []component {
	if !slices.ContainsFunc(collectors.PodmanCollectorNames, func(n string) bool { return cfg.Collectors[n] }) {
		return nil
	}
	var mounts *cgroupfs.Mounts
	if m, err := cgroupfs.ReadMounts(cfg.Podman.ProcRoot + "/self/mountinfo"); err == nil {
		mounts = &m
	} else {
		logger.Warn("no cgroup hierarchy found; container memory detail (rss, cache, working set) is off", "err", err)
	}
	opts := podman.OptionsFrom(cfg.Podman)
	opts.Cgroups = mounts
	opts.Logger = logger
	opts.OnEvent = onEvent
	opts.Positions = positions
	opts.NetCounters = netCounters(deps)
	src := podman.NewSource(cfg.Podman.Sockets, opts)
	deps.Podman = src
	return []component{{name: "podman", run: src.Run}}
}

// snapshotEnricher lets the journal reader label records with what the Podman source
// knows about their container, without either package knowing the other. A container
// not yet in any snapshot (its first lines can beat its events) is inspected on demand.
type snapshotEnricher struct{ src *podman.Source }

func (e snapshotEnricher) Container(id string) (logrecord.ContainerInfo, bool) {
	info, found, _ := e.ContainerAnswered(id)
	return info, found
}

// ContainerAnswered makes it a logrecord.AnsweringEnricher: the reader then tells a
// container of no watched service from one whose service was busy.
func (e snapshotEnricher) ContainerAnswered(id string) (logrecord.ContainerInfo, bool, bool) {
	_, c, found, answered := e.src.LookupAnswered(context.Background(), id)
	if !found {
		return logrecord.ContainerInfo{}, false, answered
	}
	return logrecord.ContainerInfo{
		Image:          c.Image,
		PodID:          c.PodID,
		PodName:        c.PodName,
		QuadletUnit:    c.SystemdUnit,
		Labels:         c.Labels,
		ExportedLabels: c.ExportedLabels,
		Exited:         c.State != "running" && c.State != "paused" && c.State != "created" && c.State != "initialized",
	}, true, true
}

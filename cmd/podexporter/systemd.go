package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/podexporter/podexporter/cmd/podexporter/internal/config"
	"github.com/podexporter/podexporter/collectors"
	"github.com/podexporter/podexporter/journald"
	"github.com/podexporter/podexporter/otlp"
	"github.com/podexporter/podexporter/podman"
	"github.com/podexporter/podexporter/systemd"
)

// systemdSource builds the service-layer source when its collector is on. Its unit
// events go to the OTLP event queue, on the resource of the unit's container when the
// Podman source knows one.
func systemdSource(cfg *config.Config, logger *slog.Logger, deps *collectors.Deps, ot *otlpSinks, pods *podman.Source) []component {
	if !cfg.Collectors["systemd"] {
		return nil
	}
	opts := systemd.OptionsFrom(cfg.Systemd)
	opts.Logger = logger.With("source", "systemd")
	opts.Reason = generatorReason(cfg.Journal.Directory)
	comps := []component{}
	if ot != nil && ot.events != nil {
		ue := &unitEvents{ot: ot, pods: pods, ch: make(chan systemd.UnitEvent, 256)}
		opts.OnEvent = ue.add
		comps = append(comps, component{name: "unit-events", run: ue.run})
	}
	src := systemd.NewSource(opts)
	deps.Units = src
	return append(comps, component{name: "systemd", run: src.Run})
}

// unitEvents puts unit events on their container's resource. A unit's start reaches
// us before the Podman source has seen its container (Quadlet's podman run is the
// unit's main process), so a started unit waits up to startWait for its container
// before its event goes out; events keep their order.
type unitEvents struct {
	ot   *otlpSinks
	pods *podman.Source
	ch   chan systemd.UnitEvent
}

const startWait = 3 * time.Second

// add never blocks the systemd watch: with the buffer full the event goes out at
// once, on whatever resource is known now.
func (u *unitEvents) add(e systemd.UnitEvent) {
	select {
	case u.ch <- e:
	default:
		u.ot.addUnitEvent(e, u.pods)
	}
}

func (u *unitEvents) run(ctx context.Context, started func()) error {
	started()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-u.ch:
			if e.Action == "started" {
				deadline := time.Now().Add(startWait)
				for time.Now().Before(deadline) && ctx.Err() == nil {
					if _, _, ok := unitContainer(u.pods, e.Manager, e.Unit.Name); ok {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			u.ot.addUnitEvent(e, u.pods)
		}
	}
}

// addUnitEvent turns a unit's lifecycle event into an OTLP event record.
func (s *otlpSinks) addUnitEvent(e systemd.UnitEvent, pods *podman.Source) {
	u := e.Unit
	ev := otlp.Event{
		Time: e.Time,
		Name: "unit." + e.Action,
		Attributes: map[string]string{
			"systemd.unit.name":     u.Name,
			"systemd.manager":       e.Manager,
			"systemd.unit.state":    u.ActiveState,
			"systemd.unit.result":   u.Result,
			"podman.quadlet.kind":   u.Kind,
			"podman.quadlet.file":   u.SourcePath,
			"systemd.unit.restarts": strconv.FormatUint(u.NRestarts, 10),
		},
	}
	if service, c, ok := unitContainer(pods, e.Manager, u.Name); ok {
		ev.Container = otlpContainer(service, c)
	}
	exit := ""
	switch u.ExecMainCode {
	case 1:
		exit = fmt.Sprintf("exit code %d", u.ExecMainStatus)
		ev.Attributes["process.exit.code"] = strconv.Itoa(u.ExecMainStatus)
	case 2, 3:
		exit = fmt.Sprintf("signal %d", u.ExecMainStatus)
		ev.Attributes["process.exit.signal"] = strconv.Itoa(u.ExecMainStatus)
	}
	switch e.Action {
	case "failed":
		ev.Severity = 17 // ERROR
		ev.Body = fmt.Sprintf("unit %s failed (result %s", u.Name, u.Result)
		if exit != "" {
			ev.Body += ", main process " + exit
		}
		ev.Body += ")"
	case "restarted":
		ev.Severity = 13 // WARN
		ev.Attributes["systemd.unit.restarts.new"] = strconv.FormatUint(e.Restarts, 10)
		ev.Body = fmt.Sprintf("unit %s restarted by systemd (%d restarts in all", u.Name, u.NRestarts)
		if exit != "" {
			ev.Body += ", main process ended with " + exit
		}
		ev.Body += ")"
	default:
		ev.Body = fmt.Sprintf("unit %s %s", u.Name, e.Action)
	}
	s.events.Add(ev)
}

// unitContainer finds the container a unit runs, in the Podman service whose units
// that manager runs.
func unitContainer(pods *podman.Source, manager, unit string) (string, *podman.Container, bool) {
	if pods == nil {
		return "", nil, false
	}
	for _, snap := range pods.Snapshots() {
		if systemd.ManagerFor(snap.Service) != manager {
			continue
		}
		for i := range snap.Containers {
			if snap.Containers[i].SystemdUnit == unit {
				return snap.Service, &snap.Containers[i], true
			}
		}
	}
	return "", nil, false
}

// generatorReason finds what the Quadlet generator said about a file: the system
// generator writes to the kernel log (SYSLOG_IDENTIFIER=quadlet-generator), a user
// generator, which may not, to its manager's output (user@UID.service). Both say
// `converting "NAME": why`.
func generatorReason(directory string) func(ctx context.Context, uid int, path string) string {
	return func(ctx context.Context, uid int, path string) string {
		matches := []string{"SYSLOG_IDENTIFIER=quadlet-generator"}
		if uid >= 0 {
			matches = append(matches, "_SYSTEMD_UNIT=user@"+strconv.Itoa(uid)+".service")
		}
		want := fmt.Sprintf("%q", filepath.Base(path))
		msg, err := journald.LastMessage(ctx, directory, matches, want, 20000)
		if err != nil {
			return ""
		}
		return msg
	}
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/podexporter/podexporter/cmd/podexporter/internal/config"
	"github.com/podexporter/podexporter/collectors"
	"github.com/podexporter/podexporter/journald/journalconf"
	"github.com/podexporter/podexporter/otlp"
	"github.com/podexporter/podexporter/podman"
)

// otlpSinks holds the OTLP side when an endpoint is configured; its methods are safe
// on nil, meaning no OTLP.
type otlpSinks struct {
	logs   *otlp.LogSink
	events *otlp.EventQueue
	push   *otlp.MetricPusher
	// gather is set by the daemon once the registry /metrics serves exists.
	gather atomic.Pointer[func() ([]*dto.MetricFamily, error)]
}

func newOTLP(cfg *config.Config, logger *slog.Logger) (*otlpSinks, error) {
	o := cfg.OTLP
	logsTo, metricsTo := otlp.FromSettings(o)
	if logsTo.Endpoint == "" && metricsTo.Endpoint == "" {
		return nil, nil
	}
	host := otlp.DetectHost(os.Getenv)
	s := &otlpSinks{}
	ctx := context.Background()
	if logsTo.Endpoint != "" && (cfg.Journal.Sink == journalconf.SinkOTLP || o.Events) {
		// Several exporters, each its own connection, so that batches are
		// exported while the one before is still in flight (acknowledged in order).
		exps, err := otlp.NewLogExporters(ctx, logsTo, otlp.LogExporters)
		if err != nil {
			return nil, &config.Error{Setting: logsTo.Setting, Problem: err.Error(), Fix: "check the endpoint, protocol and certificate files"}
		}
		s.logs = otlp.NewLogSink(exps[0], host, logger, exps[1:]...)
		if o.Events {
			s.events = s.logs.Events(1024)
		}
	}
	if o.Metrics && metricsTo.Endpoint != "" {
		exp, err := otlp.NewMetricExporter(ctx, metricsTo)
		if err != nil {
			return nil, &config.Error{Setting: metricsTo.Setting, Problem: err.Error(), Fix: "check the endpoint, protocol and certificate files"}
		}
		gather := func() ([]*dto.MetricFamily, error) {
			if g := s.gather.Load(); g != nil {
				return (*g)()
			}
			return nil, fmt.Errorf("metrics registry not ready")
		}
		s.push = otlp.NewMetricPusher(exp, gather, nil, host, o.MetricsInterval, logger)
	}
	return s, nil
}

// setGatherer hands the pusher what /metrics serves, so both sinks export the same series.
func (s *otlpSinks) setGatherer(g func() ([]*dto.MetricFamily, error), lookup otlp.ContainerLookup) {
	if s == nil || s.push == nil {
		return
	}
	s.gather.Store(&g)
	s.push.SetLookup(lookup)
}

// onEvent turns a Podman lifecycle event into an OTLP event record.
func (s *otlpSinks) onEvent() func(podman.LifecycleEvent) {
	if s == nil || s.events == nil {
		return nil
	}
	return func(e podman.LifecycleEvent) {
		ev := otlp.Event{
			Time:       e.Time,
			Name:       "container." + e.Action,
			Container:  otlpContainer(e.Service, &e.Container),
			Attributes: map[string]string{},
		}
		switch e.Action {
		case "died":
			ev.Body = fmt.Sprintf("container %s exited with code %d", e.Container.Name, e.ExitCode)
			ev.Attributes["container.exit_code"] = fmt.Sprint(e.ExitCode)
			if e.ExitCode != 0 {
				ev.Severity = 13 // WARN
			}
		case "oom":
			ev.Body = fmt.Sprintf("container %s was killed for running out of memory", e.Container.Name)
			ev.Severity = 13
		case "health_status":
			ev.Body = fmt.Sprintf("container %s is %s", e.Container.Name, e.Health)
			ev.Attributes["container.health.status"] = e.Health
			if e.Health == "unhealthy" {
				ev.Severity = 13
			}
		default:
			ev.Body = fmt.Sprintf("container %s: %s", e.Container.Name, e.Action)
		}
		s.events.Add(ev)
	}
}

// eventPositions keeps where each Podman service's events were acknowledged by the
// receiver, in the state directory, so that a restart replays what happened while
// podexporter was down; nil when events are not sent.
func (s *otlpSinks) eventPositions(cfg *config.Config, logger *slog.Logger) *podman.EventPositions {
	if s == nil || s.events == nil {
		return nil
	}
	pos, err := podman.LoadEventPositions(filepath.Join(cfg.State.Directory, "podman-events.json"))
	if err != nil {
		logger.Warn("cannot read where the Podman event streams were acknowledged; events start from now", "err", err)
	}
	failing := false
	s.events.OnAck(func(batch []otlp.Event) {
		last := map[string]int64{}
		for _, e := range batch {
			if !strings.HasPrefix(e.Name, "container.") {
				continue // a unit's event: the Podman event stream has no position for it
			}
			last[e.Container.Service] = max(last[e.Container.Service], e.Time.UnixNano())
		}
		for service, at := range last {
			err := pos.Ack(service, at)
			switch {
			case err != nil && !failing:
				failing = true
				logger.Warn("cannot save where the Podman event stream was acknowledged; a restart meanwhile may miss or repeat events", "err", err)
			case err == nil && failing:
				failing = false
				logger.Info("Podman event positions saved again")
			}
		}
	})
	return pos
}

// otlpContainer is the resource view of a container: its allowlisted labels as every
// output shows them (cut by the Podman source).
func otlpContainer(service string, c *podman.Container) otlp.Container {
	return otlp.Container{ID: c.ID, Name: c.Name, Image: c.Image, PodID: c.PodID, PodName: c.PodName, Service: service, Started: c.Started,
		Labels: c.ExportedLabels}
}

func (s *otlpSinks) components() []component {
	if s == nil {
		return nil
	}
	var out []component
	if s.events != nil {
		out = append(out, component{name: "otlp-events", run: s.events.Run})
	}
	if s.push != nil {
		out = append(out, component{name: "otlp-metrics", run: s.push.Run})
	}
	if s.logs != nil {
		logs := s.logs
		out = append(out, component{name: "otlp-logs", run: func(ctx context.Context, started func()) error {
			started()
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return logs.Close(sctx)
		}})
	}
	return out
}

// LogStats and MetricStats feed the otlp collector.
func (s *otlpSinks) LogStats() (otlp.Stats, bool) {
	if s == nil || s.logs == nil {
		return otlp.Stats{}, false
	}
	return s.logs.Stats(), true
}

func (s *otlpSinks) MetricStats() (otlp.Stats, bool) {
	if s == nil || s.push == nil {
		return otlp.Stats{}, false
	}
	return s.push.Stats(), true
}

// containerLookup finds a container by its 12-character id in the Podman snapshots.
func containerLookup(src collectors.Snapshots) otlp.ContainerLookup {
	return func(id string) (otlp.Container, bool) {
		if src == nil {
			return otlp.Container{}, false
		}
		for _, s := range src.Snapshots() {
			if c, ok := s.Find(id); ok {
				return otlpContainer(s.Service, c), true
			}
		}
		return otlp.Container{}, false
	}
}

// Package config turns the command line, an optional YAML file and the environment
// into one validated Config. Flags win over the file, the file over the environment,
// the environment over defaults. Every problem comes back as an *Error naming the
// setting and the fix, which the binary turns into exit code 2.
//
// The journal, OTLP, Podman and eBPF sections are their components' own settings
// types (journalconf.Settings, otlpconf.Settings, podmanconf.Settings,
// bpfconf.Settings), validated by their own Validate: this package only assembles
// them. It imports no source or sink, and so builds without cgo.
package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/podexporter/podexporter/bpf/bpfconf"
	"github.com/podexporter/podexporter/internal/setting"
	"github.com/podexporter/podexporter/journald/journalconf"
	"github.com/podexporter/podexporter/otlp/otlpconf"
	"github.com/podexporter/podexporter/podman/podmanconf"
)

// DefaultListenAddress is the scrape port. 9882 belongs to prometheus-podman-exporter;
// we take the next one so both can run side by side during a migration.
const DefaultListenAddress = ":9883"

// RootfulSocket is where a rootful Podman API service listens.
const RootfulSocket = "unix:///run/podman/podman.sock"

// Commands the binary understands; Run is the default.
const (
	CmdRun         = "run"
	CmdVersion     = "version"
	CmdHealthcheck = "healthcheck"
	CmdDoctor      = "doctor"
)

// Config is everything the daemon and its subcommands need, validated.
type Config struct {
	Command    string
	ConfigFile string
	Web        Web
	Podman     podmanconf.Settings
	Journal    journalconf.Settings
	State      State
	Log        Log
	OTLP       otlpconf.Settings
	EBPF       bpfconf.Settings
	// Collectors maps each registered collector name to whether it is enabled.
	Collectors map[string]bool
	// Healthcheck is only used by the healthcheck subcommand.
	HealthcheckTimeout time.Duration
}

// Web configures the HTTP server; its fields mirror exporter-toolkit's flags.
type Web struct {
	ListenAddresses []string
	ConfigFile      string
	SystemdSocket   bool
	TelemetryPath   string
	MaxRequests     int
}

// FlagConfig returns the form exporter-toolkit's server wants.
func (w *Web) FlagConfig() *web.FlagConfig {
	return &web.FlagConfig{
		WebListenAddresses: &w.ListenAddresses,
		WebSystemdSocket:   &w.SystemdSocket,
		WebConfigFile:      &w.ConfigFile,
	}
}

// State configures where checkpoints are kept.
type State struct {
	Directory string
}

// Log configures podexporter's own logging.
type Log struct {
	Level  string
	Format string
}

// Collector describes a collector flag: the framework in package collectors owns the
// list, and config only turns it into --collector.<name> flags.
type Collector struct {
	Name    string
	Help    string
	Default bool
}

// Env is what Parse reads from the machine besides the arguments, so that tests can
// give it a controlled one.
type Env struct {
	Getenv func(string) string
	Glob   func(pattern string) ([]string, error)
	Stdout io.Writer
	// Exit ends the process after --help or --version; nil lets Parse return instead.
	Exit func(code int)
}

// OSEnv is the real machine.
func OSEnv() Env {
	return Env{Getenv: os.Getenv, Glob: filepath.Glob, Stdout: os.Stdout, Exit: os.Exit}
}

// Error is a configuration problem. Its message names the setting, what is wrong with
// it, and how to fix it. It is setting.Error, so that the components' settings packages
// report their problems with the same type.
type Error = setting.Error

// durationValue is a kingpin flag value whose parse error names the flag, which
// kingpin's own duration flags do not.
type durationValue struct {
	flag string
	d    *time.Duration
}

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return &Error{Setting: v.flag, Problem: fmt.Sprintf("%q is not a duration", s), Fix: "write a number with a unit, such as 10s, 500ms or 1m30s"}
	}
	*v.d = d
	return nil
}

func (v *durationValue) String() string { return v.d.String() }

// Parse reads args (without the program name), the config file they name, and env.
func Parse(args []string, collectors []Collector, version string, env Env) (*Config, error) {
	c := &Config{Collectors: map[string]bool{}}
	app := kingpin.New("podexporter", "Prometheus and OTLP exporter for Podman hosts: container metrics and journald logs.")
	app.Version(version)
	app.HelpFlag.Short('h')
	app.UsageWriter(env.Stdout)
	app.ErrorWriter(io.Discard)
	app.Terminate(env.Exit)

	set := map[string]*bool{}
	flag := func(name, help string) *kingpin.FlagClause {
		set[name] = new(bool)
		return app.Flag(name, help).IsSetByUser(set[name])
	}

	app.Command(CmdRun, "Run the exporter (the default).").Default()
	app.Command(CmdVersion, "Print the version and exit.")
	app.Command(CmdHealthcheck, "Ask the running daemon's /healthz; exit 0 when it answers, 1 when not (for Quadlet HealthCmd=).")
	app.Command(CmdDoctor, "Check journald, Podman sockets, eBPF and the state directory; one line each, with the fix.")

	flag("config.file", "YAML file with the same settings as the flags; flags win.").StringVar(&c.ConfigFile)
	flag("web.listen-address", "Address to listen on; repeat for several. Examples: :9883, [::1]:9883, vsock://:9883.").Default(DefaultListenAddress).StringsVar(&c.Web.ListenAddresses)
	flag("web.config.file", "exporter-toolkit web config: TLS, client certificates, basic auth.").StringVar(&c.Web.ConfigFile)
	flag("web.systemd-socket", "Use systemd socket activation listeners instead of --web.listen-address.").BoolVar(&c.Web.SystemdSocket)
	flag("web.telemetry-path", "Path under which metrics are served.").Default("/metrics").StringVar(&c.Web.TelemetryPath)
	flag("web.max-requests", "Most concurrent scrapes served at once; 0 means no limit.").Default("40").IntVar(&c.Web.MaxRequests)
	flag("podman.socket", "Podman API socket URI; repeat for several (rootful and rootless). Default: $CONTAINER_HOST, else the rootful socket and every rootless one present.").StringsVar(&c.Podman.Sockets)
	flag("podman.stats-interval", "How often container stats are polled.").Default("10s").SetValue(&durationValue{"--podman.stats-interval", &c.Podman.StatsInterval})
	flag("podman.slow-interval", "How often system info, images, volumes and networks are re-listed besides their own events.").Default("1m").SetValue(&durationValue{"--podman.slow-interval", &c.Podman.SlowInterval})
	flag("podman.size-interval", "How often container root filesystem sizes are measured (costly for Podman); 0 turns it off.").Default("5m").SetValue(&durationValue{"--podman.size-interval", &c.Podman.SizeInterval})
	flag("podman.max-containers", "Most containers per Podman service in the metrics (newest kept); 0 means no cap.").Default("1000").IntVar(&c.Podman.MaxContainers)
	flag("podman.container-label", "Container label to copy onto podman_container_info (sanitised); repeat for several.").StringsVar(&c.Podman.ContainerLabels)
	flag("podman.label-value-max-length", "Longest allowlisted label value kept; longer ones are cut and counted.").Default("128").IntVar(&c.Podman.LabelValueMaxLength)
	flag("podman.name-label", "Put the container name label on every container metric, not only on podman_container_info.").BoolVar(&c.Podman.NameLabel)
	flag("podman.proc-root", "Where the host's /proc is mounted, for per-container network counters (/host/proc in a container).").Default("/proc").StringVar(&c.Podman.ProcRoot)
	flag("journal.directory", "Read journal files from this directory instead of the local journal.").StringVar(&c.Journal.Directory)
	flag("journal.namespace", "Read this journald namespace instead of the local journal.").StringVar(&c.Journal.Namespace)
	flag("journal.sink", "Where container log lines go: otlp (to --otlp.endpoint), jsonl (JSON lines to --journal.output), none (logs are not read), or auto: otlp when an OTLP endpoint is set, else none.").Default(journalconf.SinkAuto).StringVar(&c.Journal.Sink)
	flag("journal.output", "File the jsonl sink appends to, or - for standard output.").Default("-").StringVar(&c.Journal.Output)
	flag("journal.start", "Where reading starts when no cursor was saved: head, tail, or a duration ago such as 1h.").Default("tail").StringVar(&c.Journal.Start)
	flag("journal.units", "Systemd unit whose own messages are read too, such as a Quadlet service; repeat for several.").StringsVar(&c.Journal.Units)
	flag("journal.include-container", "Read only containers whose name matches this regular expression.").StringVar(&c.Journal.IncludeContainer)
	flag("journal.exclude-container", "Skip containers whose name matches this regular expression.").StringVar(&c.Journal.ExcludeContainer)
	flag("journal.include-unit", "Read only containers whose systemd unit matches this regular expression.").StringVar(&c.Journal.IncludeUnit)
	flag("journal.exclude-unit", "Skip containers whose systemd unit matches this regular expression.").StringVar(&c.Journal.ExcludeUnit)
	flag("journal.max-priority", "Skip entries with a syslog priority above this (0 emerg .. 7 debug).").Default("7").IntVar(&c.Journal.MaxPriority)
	flag("journal.max-line-bytes", "Longest line kept; longer lines are cut and counted.").Default("1048576").IntVar(&c.Journal.MaxLineBytes)
	flag("journal.partial-timeout", "How long a line split by conmon waits for its next piece before it is sent as it is.").Default("2s").SetValue(&durationValue{"--journal.partial-timeout", &c.Journal.PartialTimeout})
	flag("journal.batch-size", "Most lines handed to the sink at once.").Default("1000").IntVar(&c.Journal.BatchSize)
	flag("journal.batch-age", "Longest a line waits for its batch to fill while the reader is behind.").Default("1s").SetValue(&durationValue{"--journal.batch-age", &c.Journal.BatchAge})
	flag("journal.log-format", "How container lines are read when the container has no io.podexporter.log.format label: raw (as they are), text (severity from a leading level word), json, logfmt, or auto (JSON objects as JSON, logfmt with a level or msg key as logfmt, else text).").Default("raw").StringVar(&c.Journal.LogFormat)
	flag("journal.log-body", "Body of a parsed JSON or logfmt line: message (its message field; the other fields become attributes) or map (the whole object).").Default(journalconf.BodyMessage).StringVar(&c.Journal.LogBody)
	flag("journal.multiline", "Join continuation lines into one record when the container has no io.podexporter.log.multiline label: java, python, go, or a regular expression matching a record's first line. Empty: no joining.").StringVar(&c.Journal.Multiline)
	flag("journal.multiline-timeout", "How long a multiline record waits for its next line once the reader has caught up (while behind, measured in the entries' own timestamps).").Default("1s").SetValue(&durationValue{"--journal.multiline-timeout", &c.Journal.MultilineTimeout})
	flag("journal.extra-fields", "Journal field copied into each record when present, such as _SYSTEMD_UNIT; repeat for several.").StringsVar(&c.Journal.ExtraFields)
	flag("state.directory", "Directory for the journal cursor and other state.").Default("/var/lib/podexporter").StringVar(&c.State.Directory)
	flag("log.level", "Log level: debug, info, warn or error.").Default("info").StringVar(&c.Log.Level)
	flag("log.format", "Log format: logfmt or json.").Default("logfmt").StringVar(&c.Log.Format)
	flag("healthcheck.timeout", "How long healthcheck waits for /healthz.").Default("3s").SetValue(&durationValue{"--healthcheck.timeout", &c.HealthcheckTimeout})
	otlpFlags(flag, c)
	flag("ebpf.enable", "Count per-container network traffic with eBPF (cgroup_skb at the cgroup2 root; needs CAP_BPF and CAP_NET_ADMIN); counts host-network containers too and takes precedence over /proc/PID/net/dev.").BoolVar(&c.EBPF.Enable)
	flag("ebpf.extras", "With --ebpf.enable, also count TCP retransmits and packet drops by reason per container (tracepoints; needs CAP_PERFMON, tracefs and kernel BTF).").BoolVar(&c.EBPF.Extras)
	enabled := map[string]*bool{}
	for _, col := range collectors {
		enabled[col.Name] = flag("collector."+col.Name, col.Help+" (--no-collector."+col.Name+" turns it off)").Default(fmt.Sprint(col.Default)).Bool()
	}

	cmd, err := app.Parse(args)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			return nil, ce
		}
		return nil, &Error{Setting: "command line", Problem: err.Error(), Fix: "see 'podexporter --help' for the flags and their formats"}
	}
	c.Command = cmd
	for name, v := range enabled {
		c.Collectors[name] = *v
	}
	return finish(c, set, env)
}

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
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/podexporter/podexporter/bpf/bpfconf"
	"github.com/podexporter/podexporter/internal/setting"
	"github.com/podexporter/podexporter/journald/journalconf"
	"github.com/podexporter/podexporter/otlp/otlpconf"
	"github.com/podexporter/podexporter/podman/podmanconf"
	"github.com/podexporter/podexporter/systemd/systemdconf"
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
	Systemd    systemdconf.Settings
	// Collectors maps each registered collector name to whether it is enabled.
	Collectors map[string]bool
	// Healthcheck is only used by the healthcheck subcommand.
	HealthcheckTimeout time.Duration
	// Notices are what the daemon logs once at start about the
	// prometheus-podman-exporter flags it was given (ppe.go).
	Notices []Notice
}

// Web configures the HTTP server; its fields mirror exporter-toolkit's flags.
type Web struct {
	ListenAddresses []string
	ConfigFile      string
	SystemdSocket   bool
	TelemetryPath   string
	MaxRequests     int
	// DisableExporterMetrics leaves out go_*, process_* and promhttp_*.
	DisableExporterMetrics bool
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

// declare declares every setting into one set: the binary's own here, each
// component's by its settings type's Declare. The set is the only list of settings:
// flags, file keys, environment variables, defaults and the docs table come from it.
func declare(c *Config) *setting.Set {
	s := &setting.Set{}
	s.String(&c.ConfigFile, "config.file", "YAML file with the same settings as the flags; flags win.", "").WithKey("")
	s.Strings(&c.Web.ListenAddresses, "web.listen-address", "Address to listen on; repeat for several. Examples: :9883, [::1]:9883, vsock://:9883.", DefaultListenAddress).
		WithKey("web.listen_addresses")
	s.String(&c.Web.ConfigFile, "web.config.file", "exporter-toolkit web config: TLS, client certificates, basic auth.", "")
	s.Bool(&c.Web.SystemdSocket, "web.systemd-socket", "Use systemd socket activation listeners instead of --web.listen-address.", false)
	s.String(&c.Web.TelemetryPath, "web.telemetry-path", "Path under which metrics are served.", "/metrics")
	s.Int(&c.Web.MaxRequests, "web.max-requests", "Most concurrent scrapes served at once; 0 means no limit.", 40).
		WithDoc(fmt.Sprintf("at most %d", MaxRequestsLimit))
	s.Bool(&c.Web.DisableExporterMetrics, "web.disable-exporter-metrics", "Leave out the metrics of podexporter's own process and HTTP handler: go_*, process_* and promhttp_*.", false).
		WithDoc("podexporter_* self-metrics stay; as node_exporter's and prometheus-podman-exporter's flag of the same name")
	c.Podman.Declare(s)
	c.Journal.Declare(s)
	s.String(&c.State.Directory, "state.directory", "Directory for the journal cursor and other state; must be writable.", "/var/lib/podexporter")
	s.String(&c.Log.Level, "log.level", "Log level: debug, info, warn or error.", "info")
	s.String(&c.Log.Format, "log.format", "Log format: logfmt or json.", "logfmt")
	s.Duration(&c.HealthcheckTimeout, "healthcheck.timeout", "How long healthcheck waits for /healthz.", 3*time.Second).WithKey("")
	c.OTLP.Declare(s)
	c.EBPF.Declare(s)
	c.Systemd.Declare(s)
	return s
}

// boolValues rewrites --name=true and --name=false of the switches in sets as --name and
// --no-name, which is all kingpin takes: Go's flag package and pflag (so
// prometheus-podman-exporter's command lines) accept the value form too. A value that
// is neither is refused naming the flag.
func boolValues(args []string, sets ...*setting.Set) ([]string, error) {
	var out []string
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...), nil
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok || !strings.HasPrefix(a, "--") {
			out = append(out, a)
			continue
		}
		var d *setting.Setting
		for _, s := range sets {
			if found, ok := s.Lookup(name); ok && found.Kind == setting.Bool {
				d = found
			}
		}
		if d == nil {
			out = append(out, a)
			continue
		}
		on, err := strconv.ParseBool(value)
		if err != nil {
			return nil, &Error{Setting: "--" + name, Problem: fmt.Sprintf("%q is not true or false", value), Fix: "write --" + name + ", --no-" + name + ", or --" + name + "=true or =false"}
		}
		if on {
			out = append(out, "--"+name)
		} else {
			out = append(out, "--no-"+name)
		}
	}
	return out, nil
}

// Settings returns every declared setting, in the order of --help, with the values of
// a fresh configuration: for the docs and the tests that walk them.
func Settings() []*setting.Setting { return declare(&Config{}).All() }

// Parse reads args (without the program name), the config file they name, and env.
func Parse(args []string, collectors []Collector, version string, env Env) (*Config, error) {
	c := &Config{Collectors: map[string]bool{}}
	app := kingpin.New("podexporter", "Prometheus and OTLP exporter for Podman hosts: container metrics and journald logs.")
	app.Version(version)
	app.HelpFlag.Short('h')
	app.UsageWriter(env.Stdout)
	app.ErrorWriter(io.Discard)
	app.Terminate(env.Exit)

	app.Command(CmdRun, "Run the exporter (the default).").Default()
	app.Command(CmdVersion, "Print the version and exit.")
	app.Command(CmdHealthcheck, "Ask the running daemon's /healthz; exit 0 when it answers, 1 when not (for Quadlet HealthCmd=).")
	app.Command(CmdDoctor, "Check journald, Podman sockets, eBPF and the state directory; one line each, with the fix.")

	decls := declare(c)
	set := map[string]*bool{}
	flag := func(name, help string) *kingpin.FlagClause {
		set[name] = new(bool)
		f := app.Flag(name, help).IsSetByUser(set[name])
		if r, ok := ppeShorts[name]; ok {
			f.Short(r)
		}
		return f
	}
	for _, d := range decls.All() {
		help := d.Help
		if d.Env != "" {
			help += " Default $" + d.Env + "."
		}
		f := flag(d.Flag, help)
		switch {
		case len(d.Defaults) > 0:
			f.Default(d.Defaults...)
		case d.Kind != setting.Strings && d.Default != "":
			f.Default(d.Default)
		}
		f.SetValue(d)
	}
	enabled := map[string]*bool{}
	cols := &setting.Set{} // declared as settings so that a bad value names its flag
	for _, col := range collectors {
		enabled[col.Name] = new(bool)
		d := cols.Bool(enabled[col.Name], "collector."+col.Name, col.Help+" (--no-collector."+col.Name+" turns it off)", col.Default)
		flag(d.Flag, d.Help).Default(d.Default).SetValue(d)
	}
	var p ppe
	pdecls := p.declare()
	for _, d := range pdecls.All() {
		f := flag(d.Flag, d.Help).Hidden()
		if d.Kind == setting.Bool {
			f.Default(d.Default)
		}
		f.SetValue(d)
	}
	args, err := boolValues(args, decls, cols, pdecls)
	if err != nil {
		return nil, err
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
	if c.Notices, err = p.apply(c, set); err != nil {
		return nil, err
	}
	return finish(c, decls, set, env)
}

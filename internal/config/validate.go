package config

import (
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
)

// pick copies a value from the file unless the flag was given on the command line.
func pick[T any](flagSet *bool, dst *T, fromFile *T) {
	if !*flagSet && fromFile != nil {
		*dst = *fromFile
	}
}

func finish(c *Config, set map[string]*bool, env Env) (*Config, error) {
	if err := otlpEnv(c, set, env); err != nil {
		return nil, err
	}
	if c.ConfigFile != "" {
		fc, err := loadFile(c.ConfigFile)
		if err != nil {
			return nil, err
		}
		if err := merge(c, fc, set); err != nil {
			return nil, err
		}
		if err := mergeOTLP(c, fc, set); err != nil {
			return nil, err
		}
	}
	if len(c.Podman.Sockets) == 0 {
		c.Podman.Sockets = defaultSockets(env)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func merge(c *Config, fc *fileConfig, set map[string]*bool) error {
	pick(set["web.listen-address"], &c.Web.ListenAddresses, fc.Web.ListenAddresses)
	pick(set["web.config.file"], &c.Web.ConfigFile, fc.Web.ConfigFile)
	pick(set["web.systemd-socket"], &c.Web.SystemdSocket, fc.Web.SystemdSocket)
	pick(set["web.telemetry-path"], &c.Web.TelemetryPath, fc.Web.TelemetryPath)
	pick(set["web.max-requests"], &c.Web.MaxRequests, fc.Web.MaxRequests)
	pick(set["podman.socket"], &c.Podman.Sockets, fc.Podman.Sockets)
	for _, d := range []struct {
		flag, key string
		dst       *time.Duration
		src       *fileDuration
	}{
		{"podman.stats-interval", "podman.stats_interval", &c.Podman.StatsInterval, fc.Podman.StatsInterval},
		{"podman.slow-interval", "podman.slow_interval", &c.Podman.SlowInterval, fc.Podman.SlowInterval},
		{"podman.size-interval", "podman.size_interval", &c.Podman.SizeInterval, fc.Podman.SizeInterval},
		{"journal.partial-timeout", "journal.partial_timeout", &c.Journal.PartialTimeout, fc.Journal.PartialTimeout},
		{"journal.batch-age", "journal.batch_age", &c.Journal.BatchAge, fc.Journal.BatchAge},
		{"journal.multiline-timeout", "journal.multiline_timeout", &c.Journal.MultilineTimeout, fc.Journal.MultilineTimeout},
	} {
		if d.src == nil || *set[d.flag] {
			continue
		}
		v, err := d.src.parse(c.ConfigFile, d.key)
		if err != nil {
			return err
		}
		*d.dst = v
	}
	pick(set["podman.max-containers"], &c.Podman.MaxContainers, fc.Podman.MaxContainers)
	pick(set["podman.container-label"], &c.Podman.ContainerLabels, fc.Podman.ContainerLabels)
	pick(set["podman.label-value-max-length"], &c.Podman.LabelValueMaxLength, fc.Podman.LabelValueMaxLength)
	pick(set["podman.name-label"], &c.Podman.NameLabel, fc.Podman.NameLabel)
	pick(set["podman.proc-root"], &c.Podman.ProcRoot, fc.Podman.ProcRoot)
	pick(set["journal.directory"], &c.Journal.Directory, fc.Journal.Directory)
	pick(set["journal.namespace"], &c.Journal.Namespace, fc.Journal.Namespace)
	pick(set["journal.sink"], &c.Journal.Sink, fc.Journal.Sink)
	pick(set["journal.output"], &c.Journal.Output, fc.Journal.Output)
	pick(set["journal.start"], &c.Journal.Start, fc.Journal.Start)
	pick(set["journal.units"], &c.Journal.Units, fc.Journal.Units)
	pick(set["journal.include-container"], &c.Journal.IncludeContainer, fc.Journal.IncludeContainer)
	pick(set["journal.exclude-container"], &c.Journal.ExcludeContainer, fc.Journal.ExcludeContainer)
	pick(set["journal.include-unit"], &c.Journal.IncludeUnit, fc.Journal.IncludeUnit)
	pick(set["journal.exclude-unit"], &c.Journal.ExcludeUnit, fc.Journal.ExcludeUnit)
	pick(set["journal.max-priority"], &c.Journal.MaxPriority, fc.Journal.MaxPriority)
	pick(set["journal.max-line-bytes"], &c.Journal.MaxLineBytes, fc.Journal.MaxLineBytes)
	pick(set["journal.batch-size"], &c.Journal.BatchSize, fc.Journal.BatchSize)
	pick(set["journal.extra-fields"], &c.Journal.ExtraFields, fc.Journal.ExtraFields)
	pick(set["journal.log-format"], &c.Journal.LogFormat, fc.Journal.LogFormat)
	pick(set["journal.log-body"], &c.Journal.LogBody, fc.Journal.LogBody)
	pick(set["journal.multiline"], &c.Journal.Multiline, fc.Journal.Multiline)
	pick(set["state.directory"], &c.State.Directory, fc.State.Directory)
	pick(set["log.level"], &c.Log.Level, fc.Log.Level)
	pick(set["log.format"], &c.Log.Format, fc.Log.Format)
	pick(set["ebpf.enable"], &c.EBPF.Enable, fc.EBPF.Enable)
	pick(set["ebpf.extras"], &c.EBPF.Extras, fc.EBPF.Extras)
	for name, on := range fc.Collectors {
		if _, known := c.Collectors[name]; !known {
			return &Error{
				Setting: "collectors." + name + " in " + c.ConfigFile,
				Problem: "no collector of that name",
				Fix:     "use one of: " + strings.Join(sortedKeys(c.Collectors), ", "),
			}
		}
		if on != nil && !*set["collector."+name] {
			c.Collectors[name] = *on
		}
	}
	return nil
}

// defaultSockets follows Podman's own rule: CONTAINER_HOST names the one service to use;
// without it we take the rootful socket and every rootless user's socket present now.
func defaultSockets(env Env) []string {
	if h := env.Getenv("CONTAINER_HOST"); h != "" {
		return []string{h}
	}
	sockets := []string{RootfulSocket}
	rootless, _ := env.Glob("/run/user/*/podman/podman.sock")
	sort.Strings(rootless)
	for _, p := range rootless {
		sockets = append(sockets, "unix://"+p)
	}
	return sockets
}

// MaxRequestsLimit is the largest --web.max-requests. Each scrape in flight holds its
// own gathered and encoded copy of the metrics, so the limit is what keeps a burst of
// scrapers from taking the host's memory; a value above this limits nothing a real
// scraper fleet would reach, which 0 says plainly.
const MaxRequestsLimit = 1000

func (c *Config) validate() error {
	if err := c.validateOTLP(); err != nil {
		return err
	}
	if !c.Web.SystemdSocket && len(c.Web.ListenAddresses) == 0 {
		return &Error{Setting: "--web.listen-address", Problem: "no address given", Fix: "give at least one, such as " + DefaultListenAddress}
	}
	for _, a := range c.Web.ListenAddresses {
		if strings.HasPrefix(a, "vsock://") {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return &Error{Setting: "--web.listen-address", Problem: fmt.Sprintf("%q is not host:port", a), Fix: "write it as :9883, 127.0.0.1:9883 or [::1]:9883"}
		}
	}
	if c.Web.ConfigFile != "" {
		if _, err := os.Stat(c.Web.ConfigFile); err != nil {
			return &Error{Setting: "--web.config.file", Problem: err.Error(), Fix: "give the path of an existing exporter-toolkit web config, or leave it out for plain HTTP"}
		}
		if err := web.Validate(c.Web.ConfigFile); err != nil {
			return &Error{Setting: "--web.config.file " + c.Web.ConfigFile, Problem: err.Error(), Fix: "see https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md"}
		}
	}
	if !strings.HasPrefix(c.Web.TelemetryPath, "/") || c.Web.TelemetryPath == "/" {
		return &Error{Setting: "--web.telemetry-path", Problem: fmt.Sprintf("%q is not a path below /", c.Web.TelemetryPath), Fix: "use a path such as /metrics"}
	}
	if c.Web.MaxRequests < 0 {
		return &Error{Setting: "--web.max-requests", Problem: "negative", Fix: "use 0 for no limit or a positive number"}
	}
	if c.Web.MaxRequests > MaxRequestsLimit {
		return &Error{Setting: "--web.max-requests", Problem: fmt.Sprintf("%d is above %d", c.Web.MaxRequests, MaxRequestsLimit), Fix: fmt.Sprintf("use at most %d, or 0 for no limit; the default is 40", MaxRequestsLimit)}
	}
	if err := c.Podman.Validate(); err != nil {
		return err
	}
	if err := c.Journal.Validate(); err != nil {
		return err
	}
	if !strings.HasPrefix(c.State.Directory, "/") {
		return &Error{Setting: "--state.directory", Problem: fmt.Sprintf("%q is not an absolute path", c.State.Directory), Fix: "use an absolute path such as /var/lib/podexporter"}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		return &Error{Setting: "--log.level", Problem: fmt.Sprintf("%q is not a level", c.Log.Level), Fix: "use debug, info, warn or error"}
	}
	// eBPF is checked between the two log settings, where its check always was, so a
	// configuration with several problems still reports the same first one.
	if err := c.EBPF.Validate(); err != nil {
		return err
	}
	if !slices.Contains([]string{"logfmt", "json"}, c.Log.Format) {
		return &Error{Setting: "--log.format", Problem: fmt.Sprintf("%q is not a format", c.Log.Format), Fix: "use logfmt or json"}
	}
	return nil
}

// PrepareStateDir creates the state directory and proves it is writable, so that a
// daemon that could never save a cursor fails at start, not at its first checkpoint.
func (c *Config) PrepareStateDir() error {
	fix := "create it writable for this user, mount a volume there, or point --state.directory elsewhere"
	if err := os.MkdirAll(c.State.Directory, 0o750); err != nil {
		return &Error{Setting: "--state.directory", Problem: err.Error(), Fix: fix}
	}
	f, err := os.CreateTemp(c.State.Directory, ".probe-*")
	if err != nil {
		return &Error{Setting: "--state.directory", Problem: err.Error(), Fix: fix}
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

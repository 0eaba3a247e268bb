package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/podexporter/podexporter/internal/setting"
)

// finish applies the weaker sources where no flag was given, the environment first
// and the file over it, then the default sockets, and validates the result.
func finish(c *Config, decls *setting.Set, set map[string]*bool, env Env) (*Config, error) {
	for _, d := range decls.All() {
		if *set[d.Flag] {
			d.From = setting.FromFlag
			continue
		}
		if d.Env == "" {
			continue
		}
		if err := applyEnv(d, env.Getenv(d.Env)); err != nil {
			return nil, err
		}
	}
	if c.ConfigFile != "" {
		if err := loadFile(c.ConfigFile, decls, set, c.Collectors); err != nil {
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

// applyEnv sets d from its environment variable's value v, when there is one; a
// problem names the variable.
func applyEnv(d *setting.Setting, v string) error {
	if v == "" {
		return nil
	}
	texts, err := d.FromEnv(v)
	if err == nil {
		err = d.Replace(texts)
	}
	if err == nil {
		d.From = setting.FromEnv
	}
	var se *Error
	if errors.As(err, &se) && strings.HasPrefix(se.Setting, "--") {
		se.Setting = d.Env
	}
	return err
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
	if err := c.Systemd.Validate(); err != nil {
		return err
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

package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/internal/setting"
	"github.com/podexporter/podexporter/podman/podmanconf"
)

// prometheus-podman-exporter's command line, accepted as it is so that a unit or a
// Quadlet file moves over with its Exec= line unchanged: the flags of its v1.21 README
// and the spellings its development branch renamed them to (store-labels,
// whitelisted-labels, cache-duration, container-stats-timeout). Those that are
// podexporter's own flags too (--web.*, --collector.<name>, --version) need nothing
// here but their one-letter forms; the others map onto podexporter's settings or,
// where they mean nothing here, are accepted with a notice. docs/migration.md has the
// table, and its tests start the daemon with each documented command line.

// Notice is a line the daemon logs once at start about a prometheus-podman-exporter
// flag it was given: which of podexporter's settings it became, or, when Ignored, that
// it has no effect here and why.
type Notice struct {
	Flag    string
	Ignored bool
	Text    string
}

func (n Notice) String() string { return n.Flag + ": " + n.Text }

// ppeShorts are prometheus-podman-exporter's one-letter flags, by the long flag they
// stand for; podexporter's own flags of the same meaning take the same letters.
var ppeShorts = map[string]rune{
	"collector.enable-all":         'a',
	"collector.image":              'i',
	"collector.network":            'n',
	"collector.pod":                'o',
	"collector.store_labels":       'b',
	"collector.system":             's',
	"collector.volume":             'v',
	"collector.whitelisted_labels": 'w',
	"collector.cache_duration":     't',
	"debug":                        'd',
	"web.disable-exporter-metrics": 'e',
	"web.listen-address":           'l',
	"web.max-requests":             'm',
	"web.telemetry-path":           'p',
}

// ppeCollectors are the collectors prometheus-podman-exporter has, which its
// --collector.enable-all turns on. Here they are all on by default.
var ppeCollectors = []string{"container", "pod", "image", "volume", "network", "system"}

// ppeMinCacheDuration is the shortest cache duration prometheus-podman-exporter
// accepts; a shorter one stops it, and stops podexporter too.
const ppeMinCacheDuration = 5 * time.Second

// ppe holds the values of prometheus-podman-exporter's flags that are not
// podexporter's own. Two spellings of one flag share a field.
type ppe struct {
	enableAll     bool
	storeLabels   bool
	whitelisted   string
	enhance       bool
	debug         bool
	cacheDuration string
	statsTimeout  string
}

// declare declares the flags; they are hidden from --help (docs/migration.md lists
// them) and have no file key.
func (p *ppe) declare() *setting.Set {
	s := &setting.Set{}
	const from = "prometheus-podman-exporter's flag: "
	s.Bool(&p.enableAll, "collector.enable-all", from+"turn on the container, pod, image, volume, network and system collectors (on by default here).", false)
	for _, f := range []string{"collector.store_labels", "collector.store-labels"} {
		s.Bool(&p.storeLabels, f, from+"every container, pod and image label on podman_container_info, _pod_info and _image_info (--podman.container-label=* and the same for pods and images).", false)
	}
	for _, f := range []string{"collector.whitelisted_labels", "collector.whitelisted-labels"} {
		s.String(&p.whitelisted, f, from+"comma-separated container, pod and image labels for the info families (--podman.container-label, --podman.pod-label, --podman.image-label).", "")
	}
	s.Bool(&p.enhance, "collector.enhance-metrics", from+"the container name and image on every container series (--podman.name-label --podman.image-name-label).", false)
	for _, f := range []string{"collector.cache_duration", "collector.cache-duration"} {
		s.String(&p.cacheDuration, f, from+"accepted and ignored: sizes are measured every --podman.size-interval.", "")
	}
	s.String(&p.statsTimeout, "collector.container-stats-timeout", from+"accepted and ignored: stats are polled every --podman.stats-interval, never during a scrape.", "")
	s.Bool(&p.debug, "debug", from+"--log.level=debug.", false)
	return s
}

// apply turns the prometheus-podman-exporter flags given (set says which) into
// podexporter's settings, as flags: a podexporter flag given as well wins, and the file
// cannot undo them. It returns the notices to log, or a configuration error naming the
// flag and the fix.
func (p *ppe) apply(c *Config, set map[string]*bool) ([]Notice, error) {
	given := func(flag string) bool { s, ok := set[flag]; return ok && *s }
	// spelling returns the spelling of a flag the command line used, or "".
	spelling := func(flags ...string) string {
		for _, f := range flags {
			if given(f) {
				return "--" + f
			}
		}
		return ""
	}
	// setFlag sets a podexporter setting as if its flag had been given, unless it was.
	setFlag := func(flag string, apply func()) {
		if !given(flag) {
			apply()
			*set[flag] = true
		}
	}
	var notices []Notice
	if given("collector.enable-all") && p.enableAll {
		var on []string
		for _, name := range ppeCollectors {
			if _, ok := c.Collectors[name]; ok {
				setFlag("collector."+name, func() { c.Collectors[name] = true })
				if c.Collectors[name] {
					on = append(on, name)
				}
			}
		}
		notices = append(notices, Notice{Flag: "--collector.enable-all", Text: "collectors " + strings.Join(on, ", ") + " on (podexporter's collectors are all on by default; --no-collector.<name> turns one off)"})
	}
	if given("debug") && p.debug {
		setFlag("log.level", func() { c.Log.Level = "debug" })
		notices = append(notices, Notice{Flag: "--debug", Text: "taken as --log.level=" + c.Log.Level})
	}
	if given("collector.enhance-metrics") && p.enhance {
		setFlag("podman.name-label", func() { c.Podman.NameLabel = true })
		setFlag("podman.image-name-label", func() { c.Podman.ImageNameLabel = true })
		notices = append(notices, Notice{Flag: "--collector.enhance-metrics", Text: "taken as --podman.name-label --podman.image-name-label: name and image on every container series"})
	}
	store := spelling("collector.store_labels", "collector.store-labels")
	white := spelling("collector.whitelisted_labels", "collector.whitelisted-labels")
	var keys []string
	var from string
	switch {
	case store != "" && p.storeLabels:
		keys, from = []string{podmanconf.AllLabels}, store
		if white != "" && p.whitelisted != "" {
			notices = append(notices, Notice{Flag: white, Ignored: true, Text: "ignored beside " + store + ", as prometheus-podman-exporter does: every label is taken"})
		}
	case white != "":
		for _, k := range strings.Split(p.whitelisted, ",") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, k)
			}
		}
		from = white
	}
	if len(keys) > 0 {
		for _, kind := range []struct {
			flag  string
			fixed []string
			list  *[]string
		}{
			{"podman.container-label", catalog.ContainerInfoLabels, &c.Podman.ContainerLabels},
			{"podman.pod-label", catalog.PodInfo.Labels, &c.Podman.PodLabels},
			{"podman.image-label", catalog.ImageInfo.Labels, &c.Podman.ImageLabels},
		} {
			if _, err := podmanconf.NewAllowlist(from, keys, kind.fixed); err != nil {
				return nil, err
			}
			// Added to the values of podexporter's own flag, as repeated flags add up.
			*kind.list = append(*kind.list, keys...)
			*set[kind.flag] = true
		}
		notices = append(notices, Notice{Flag: from, Text: fmt.Sprintf("taken as --podman.container-label, --podman.pod-label and --podman.image-label %s", strings.Join(keys, ","))})
	}
	if f := spelling("collector.cache_duration", "collector.cache-duration"); f != "" {
		d, err := ppeDuration(p.cacheDuration, true)
		if err != nil {
			return nil, &Error{Setting: f, Problem: fmt.Sprintf("%q is not a number of seconds or a duration", p.cacheDuration),
				Fix: "write seconds such as 3600 or a duration such as 1h, or leave the flag out: podexporter ignores it (sizes are measured every --podman.size-interval)"}
		}
		if d < ppeMinCacheDuration {
			return nil, &Error{Setting: f, Problem: fmt.Sprintf("%s is shorter than %s, which prometheus-podman-exporter refuses", d, ppeMinCacheDuration),
				Fix: "use 5s or more, or leave the flag out: podexporter ignores it (sizes are measured every --podman.size-interval)"}
		}
		notices = append(notices, Notice{Flag: f, Ignored: true, Text: "ignored: nothing is cached per scrape here; container, image and volume sizes are measured every --podman.size-interval"})
	}
	if given("collector.container-stats-timeout") {
		d, err := ppeDuration(p.statsTimeout, false)
		if err != nil || d <= 0 {
			return nil, &Error{Setting: "--collector.container-stats-timeout", Problem: fmt.Sprintf("%q is not a positive duration", p.statsTimeout),
				Fix: "write a duration such as 1s, or leave the flag out: podexporter ignores it (stats are polled every --podman.stats-interval)"}
		}
		notices = append(notices, Notice{Flag: "--collector.container-stats-timeout", Ignored: true, Text: "ignored: stats are polled every --podman.stats-interval, never during a scrape, so a slow stats call cannot fail one"})
	}
	return notices, nil
}

// ppeDuration reads a duration as prometheus-podman-exporter wrote it: a Go duration,
// or, where seconds is set, a whole number of seconds (its v1 flags were integers).
func ppeDuration(v string, seconds bool) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if seconds {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			if n > int64(time.Duration(1<<63-1)/time.Second) {
				return 0, fmt.Errorf("too long")
			}
			return time.Duration(n) * time.Second, nil
		}
	}
	return time.ParseDuration(v)
}

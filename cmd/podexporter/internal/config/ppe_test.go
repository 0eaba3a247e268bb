package config

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const migrationDoc = "../../../../docs/migration.md"

// ppeFlags is prometheus-podman-exporter's command line: every flag of the README and
// cmd/root.go of v1.21.2 with its one-letter form, then the spellings its development
// branch renamed flags to (pull request 518) and the flag it added there. value is an
// example value for flags that take one.
var ppeFlags = []struct{ long, short, value string }{
	{"collector.cache_duration", "t", "3600"},
	{"collector.enable-all", "a", ""},
	{"collector.enhance-metrics", "", ""},
	{"collector.image", "i", ""},
	{"collector.network", "n", ""},
	{"collector.pod", "o", ""},
	{"collector.store_labels", "b", ""},
	{"collector.system", "s", ""},
	{"collector.volume", "v", ""},
	{"collector.whitelisted_labels", "w", "app,com.example.team"},
	{"debug", "d", ""},
	{"help", "h", ""},
	{"version", "", ""},
	{"web.config.file", "", ""}, // a file: given by the test
	{"web.disable-exporter-metrics", "e", ""},
	{"web.listen-address", "l", ":9882"},
	{"web.max-requests", "m", "40"},
	{"web.telemetry-path", "p", "/metrics"},
	{"collector.store-labels", "", ""},
	{"collector.whitelisted-labels", "", "app"},
	{"collector.cache-duration", "", "1h"},
	{"collector.container-stats-timeout", "", "5s"},
}

// ppeCollectorFlags are the collectors prometheus-podman-exporter has, registered as
// the binary registers them.
var ppeCollectorFlags = []Collector{
	{Name: "container", Default: true}, {Name: "pod", Default: true}, {Name: "image", Default: true},
	{Name: "volume", Default: true}, {Name: "network", Default: true}, {Name: "system", Default: true},
	{Name: "journal", Default: true},
}

func parsePPE(t *testing.T, file string, args ...string) (*Config, error) {
	t.Helper()
	base := []string{"--podman.socket=" + RootfulSocket, "--state.directory=" + t.TempDir()}
	if file != "" {
		base = append(base, "--config.file="+writeFile(t, "podexporter.yml", file))
	}
	return Parse(append(base, args...), ppeCollectorFlags, "test", testEnv(nil))
}

func noticeOf(c *Config, flag string) (Notice, bool) {
	for _, n := range c.Notices {
		if n.Flag == flag {
			return n, true
		}
	}
	return Notice{}, false
}

// Each of prometheus-podman-exporter's flags becomes the podexporter setting it means,
// by either spelling and by its letter; a podexporter flag given beside it wins, and
// the file cannot undo it.
func TestPPEFlagsMap(t *testing.T) {
	allCollectorsOff := "collectors:\n  container: false\n  pod: false\n  image: false\n  volume: false\n  network: false\n  system: false\n"
	tests := []struct {
		name  string
		file  string
		args  []string
		check func(*Config) bool
	}{
		{"enable-all beats the file", allCollectorsOff, []string{"--collector.enable-all"}, func(c *Config) bool {
			for _, n := range ppeCollectors {
				if !c.Collectors[n] {
					return false
				}
			}
			return c.Collectors["journal"]
		}},
		{"-a and an explicit --no-collector", "", []string{"-a", "--no-collector.volume"}, func(c *Config) bool {
			return c.Collectors["pod"] && !c.Collectors["volume"]
		}},
		{"enable-all=false does nothing", allCollectorsOff, []string{"--collector.enable-all=false"}, func(c *Config) bool {
			_, noted := noticeOf(c, "--collector.enable-all")
			return !c.Collectors["pod"] && !noted
		}},
		{"collector letters", allCollectorsOff, []string{"-i", "-o", "-v", "-n", "-s"}, func(c *Config) bool {
			return c.Collectors["image"] && c.Collectors["pod"] && c.Collectors["volume"] && c.Collectors["network"] && c.Collectors["system"] && !c.Collectors["container"]
		}},
		{"collector=true", allCollectorsOff, []string{"--collector.pod=true", "--collector.image=false"}, func(c *Config) bool {
			return c.Collectors["pod"] && !c.Collectors["image"]
		}},
		{"debug", "", []string{"--debug"}, func(c *Config) bool { return c.Log.Level == "debug" }},
		{"-d and an explicit log level", "", []string{"-d", "--log.level=warn"}, func(c *Config) bool { return c.Log.Level == "warn" }},
		{"enhance-metrics beats the file", "podman:\n  name_label: false\n", []string{"--collector.enhance-metrics"}, func(c *Config) bool {
			return c.Podman.NameLabel && c.Podman.ImageNameLabel
		}},
		{"enhance-metrics and --no-podman.name-label", "", []string{"--collector.enhance-metrics", "--no-podman.name-label"}, func(c *Config) bool {
			return !c.Podman.NameLabel && c.Podman.ImageNameLabel
		}},
		{"store_labels", "podman:\n  container_labels: [team]\n", []string{"--collector.store_labels"}, func(c *Config) bool {
			return slices.Equal(c.Podman.ContainerLabels, []string{"*"}) && slices.Equal(c.Podman.PodLabels, []string{"*"}) && slices.Equal(c.Podman.ImageLabels, []string{"*"})
		}},
		{"store-labels", "", []string{"--collector.store-labels"}, func(c *Config) bool { return slices.Equal(c.Podman.ImageLabels, []string{"*"}) }},
		{"-b", "", []string{"-b"}, func(c *Config) bool { return slices.Equal(c.Podman.PodLabels, []string{"*"}) }},
		{"whitelisted_labels", "", []string{"--collector.whitelisted_labels=app, com.example.team,", "--podman.container-label=tier"}, func(c *Config) bool {
			return slices.Equal(c.Podman.ContainerLabels, []string{"tier", "app", "com.example.team"}) &&
				slices.Equal(c.Podman.PodLabels, []string{"app", "com.example.team"}) && slices.Equal(c.Podman.ImageLabels, []string{"app", "com.example.team"})
		}},
		{"-w", "", []string{"-w", "app"}, func(c *Config) bool { return slices.Equal(c.Podman.PodLabels, []string{"app"}) }},
		{"whitelisted-labels", "", []string{"--collector.whitelisted-labels=app"}, func(c *Config) bool { return slices.Equal(c.Podman.ImageLabels, []string{"app"}) }},
		{"store_labels wins over whitelisted_labels", "", []string{"--collector.whitelisted_labels=app", "--collector.store_labels"}, func(c *Config) bool {
			n, ok := noticeOf(c, "--collector.whitelisted_labels")
			return slices.Equal(c.Podman.ContainerLabels, []string{"*"}) && ok && n.Ignored
		}},
		{"an empty whitelist", "", []string{"--collector.whitelisted_labels="}, func(c *Config) bool { return len(c.Podman.ContainerLabels) == 0 }},
		{"cache_duration in seconds", "", []string{"--collector.cache_duration=600"}, func(c *Config) bool {
			n, ok := noticeOf(c, "--collector.cache_duration")
			return ok && n.Ignored && strings.Contains(n.Text, "--podman.size-interval")
		}},
		{"-t", "", []string{"-t", "3600"}, func(c *Config) bool { _, ok := noticeOf(c, "--collector.cache_duration"); return ok }},
		{"cache-duration as a duration", "", []string{"--collector.cache-duration=1h"}, func(c *Config) bool { _, ok := noticeOf(c, "--collector.cache-duration"); return ok }},
		{"container-stats-timeout", "", []string{"--collector.container-stats-timeout=5s"}, func(c *Config) bool {
			n, ok := noticeOf(c, "--collector.container-stats-timeout")
			return ok && n.Ignored && strings.Contains(n.Text, "--podman.stats-interval")
		}},
		{"-e", "", []string{"-e"}, func(c *Config) bool { return c.Web.DisableExporterMetrics }},
		{"web letters", "", []string{"-l", ":9882", "-l", "127.0.0.1:9884", "-p", "/podman", "-m", "7"}, func(c *Config) bool {
			return slices.Equal(c.Web.ListenAddresses, []string{":9882", "127.0.0.1:9884"}) && c.Web.TelemetryPath == "/podman" && c.Web.MaxRequests == 7
		}},
		{"combined letters", "", []string{"-ade"}, func(c *Config) bool {
			return c.Collectors["pod"] && c.Log.Level == "debug" && c.Web.DisableExporterMetrics
		}},
		{"nothing of it", "", nil, func(c *Config) bool {
			return len(c.Notices) == 0 && !c.Podman.NameLabel && !c.Podman.ImageNameLabel && len(c.Podman.ContainerLabels) == 0 && !c.Web.DisableExporterMetrics
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parsePPE(t, tc.file, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("%q gave collectors %v, log level %s, podman %+v, web %+v, notices %v", tc.args, c.Collectors, c.Log.Level, c.Podman, c.Web, c.Notices)
			}
		})
	}
}

// A value prometheus-podman-exporter's flag cannot take stops podexporter with one line
// naming the flag (by the spelling given) and the fix, which the binary turns into exit
// code 2.
func TestPPEBadValues(t *testing.T) {
	tests := []struct {
		args         []string
		setting, fix string
	}{
		{[]string{"--collector.cache_duration=soon"}, "--collector.cache_duration", "3600"},
		{[]string{"--collector.cache-duration=2s"}, "--collector.cache-duration", "5s or more"},
		{[]string{"-t", "4"}, "--collector.cache_duration", "5s or more"},
		{[]string{"--collector.container-stats-timeout=0s"}, "--collector.container-stats-timeout", "1s"},
		{[]string{"--collector.container-stats-timeout=5"}, "--collector.container-stats-timeout", "1s"},
		{[]string{"--collector.whitelisted_labels=a.b,a_b"}, "--collector.whitelisted_labels", "only one"},
		{[]string{"--collector.whitelisted-labels=x/y,x.y"}, "--collector.whitelisted-labels", "only one"},
		{[]string{"--collector.enable-all=yes please"}, "--collector.enable-all", "=false"},
		{[]string{"--collector.store_labels=2"}, "--collector.store_labels", "=true"},
		{[]string{"--collector.pod=maybe"}, "--collector.pod", "--no-collector.pod"},
		{[]string{"--web.disable-exporter-metrics=on"}, "--web.disable-exporter-metrics", "=true"},
		{[]string{"--web.max-requests=-1"}, "--web.max-requests", "0 for no limit"},
		{[]string{"-m", "many"}, "--web.max-requests", "40"},
		{[]string{"-p", "metrics"}, "--web.telemetry-path", "/metrics"},
		{[]string{"-l", "9882"}, "--web.listen-address", ":9883"},
	}
	for _, tc := range tests {
		_, err := parsePPE(t, "", tc.args...)
		var ce *Error
		if !errors.As(err, &ce) || ce.Setting != tc.setting || !strings.Contains(ce.Fix, tc.fix) {
			t.Errorf("%q: %v; want an error naming %s with a fix mentioning %q", tc.args, err, tc.setting, tc.fix)
		}
	}
}

// --version and --help behave as podexporter's own: they print and end.
func TestPPEVersionAndHelp(t *testing.T) {
	for _, arg := range []string{"--version", "--help", "-h"} {
		var out bytes.Buffer
		code := -1
		env := testEnv(nil)
		env.Stdout, env.Exit = &out, func(c int) { code = c }
		_, _ = Parse([]string{arg}, ppeCollectorFlags, "podexporter, version test", env)
		if code != 0 || out.Len() == 0 {
			t.Errorf("%s: exit %d, printed %q", arg, code, out.String())
		}
	}
}

// docFlagsTable returns the first cell of each row of the flags table of
// docs/migration.md: prometheus-podman-exporter's spellings of one flag.
func docFlagsTable(t *testing.T) [][]string {
	t.Helper()
	doc, err := os.ReadFile(migrationDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Flags\n")
	if !ok {
		t.Fatalf("%s has no Flags section", migrationDoc)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	flagRE := regexp.MustCompile("`(-[^`]+)`")
	var rows [][]string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `-") {
			continue
		}
		first := strings.Split(line, "|")[1]
		var spellings []string
		for _, m := range flagRE.FindAllStringSubmatch(first, -1) {
			spellings = append(spellings, m[1])
		}
		rows = append(rows, spellings)
	}
	return rows
}

// docs/migration.md's flags table has a row for every flag of prometheus-podman-exporter
// with its letter, and nothing else; and every spelling in it is taken by Parse.
func TestPPEFlagsDocumented(t *testing.T) {
	rows := docFlagsTable(t)
	documented := map[string]bool{}
	for _, row := range rows {
		for _, s := range row {
			documented[s] = true
		}
	}
	known := map[string]bool{}
	for _, f := range ppeFlags {
		known["--"+f.long] = true
		if !documented["--"+f.long] {
			t.Errorf("docs/migration.md's flags table lacks --%s", f.long)
		}
		if f.short != "" {
			known["-"+f.short] = true
			if !documented["-"+f.short] {
				t.Errorf("docs/migration.md's flags table lacks -%s (--%s)", f.short, f.long)
			}
		}
	}
	for s := range documented {
		if !known[s] {
			t.Errorf("docs/migration.md's flags table has %s, which is not prometheus-podman-exporter's", s)
		}
	}
	webConfig := writeFile(t, "web.yml", "")
	for _, f := range ppeFlags {
		if f.long == "help" || f.long == "version" {
			continue // TestPPEVersionAndHelp
		}
		value := f.value
		if f.long == "web.config.file" {
			value = webConfig
		}
		long, short := []string{"--" + f.long}, []string{"-" + f.short}
		if value != "" {
			long[0] += "=" + value
			short = append(short, value)
		}
		forms := [][]string{long}
		if f.short != "" {
			forms = append(forms, short)
		}
		for _, args := range forms {
			if _, err := parsePPE(t, "", args...); err != nil {
				t.Errorf("%q: %v", args, err)
			}
		}
	}
}

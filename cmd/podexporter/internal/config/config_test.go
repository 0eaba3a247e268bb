package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podexporter/podexporter/journald/journalconf"
)

var testCollectors = []Collector{
	{Name: "journal", Help: "journal", Default: true},
	{Name: "podman", Help: "podman", Default: true},
	{Name: "ebpf", Help: "ebpf", Default: false},
}

// testEnv has no CONTAINER_HOST and one rootless socket, so defaults are predictable.
func testEnv(vars map[string]string) Env {
	return Env{
		Getenv: func(k string) string { return vars[k] },
		Glob: func(string) ([]string, error) {
			return []string{"/run/user/1000/podman/podman.sock"}, nil
		},
		Stdout: io.Discard,
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	badWebConfig := writeFile(t, "web.yml", "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n")
	tests := []struct {
		name    string
		args    []string
		file    string // config file content; written and passed with --config.file
		setting string // what the error must name
		fix     string // a word the fix must contain
	}{
		{"unknown flag", []string{"--web.listen-adress=:1"}, "", "command line", "--help"},
		{"bad flag duration", []string{"--podman.stats-interval=10"}, "", "--podman.stats-interval", "10s"},
		{"bad file duration", nil, "podman:\n  stats_interval: soon\n", "podman.stats_interval in", "10s"},
		{"unknown key with line", nil, "web:\n  listen_addresses: [':1']\n  lisen_address: x\n", "line 3", `"listen_addresses"`},
		{"unknown top-level key", nil, "podmn:\n  sockets: []\n", "line 1", `"podman"`},
		{"broken yaml", nil, "web: [\n", "--config.file", "YAML"},
		{"missing config file", []string{"--config.file=" + filepath.Join(dir, "nope.yml")}, "", "--config.file", "readable"},
		{"listen address without port", []string{"--web.listen-address=localhost"}, "", "--web.listen-address", ":9883"},
		{"missing web config", []string{"--web.config.file=" + filepath.Join(dir, "nope.yml")}, "", "--web.config.file", "existing"},
		{"invalid web config", []string{"--web.config.file=" + badWebConfig}, "", "--web.config.file", "web-configuration"},
		{"relative socket", []string{"--podman.socket=unix://run/podman.sock"}, "", "--podman.socket", "unix:///run/podman/podman.sock"},
		{"socket scheme", []string{"--podman.socket=http://x"}, "", "--podman.socket", "tcp://"},
		{"stats interval too short", []string{"--podman.stats-interval=10ms"}, "", "--podman.stats-interval", "1s"},
		{"journal directory missing", []string{"--journal.directory=" + filepath.Join(dir, "nope")}, "", "--journal.directory", "/var/log/journal"},
		{"relative state directory", []string{"--state.directory=state"}, "", "--state.directory", "absolute"},
		{"log level", []string{"--log.level=verbose"}, "", "--log.level", "debug"},
		{"log format in file", nil, "log:\n  format: xml\n", "--log.format", "logfmt"},
		{"unknown collector in file", nil, "collectors:\n  podmn: true\n", "collectors.podmn", "journal"},
		{"slow interval too short", []string{"--podman.slow-interval=1s"}, "", "--podman.slow-interval", "10s"},
		{"size interval too short", nil, "podman:\n  size_interval: 5s\n", "--podman.size-interval", "0 to turn"},
		{"bad size interval in file", nil, "podman:\n  size_interval: 5\n", "podman.size_interval in", "10s"},
		{"ebpf extras without ebpf", []string{"--ebpf.extras"}, "", "--ebpf.extras", "--ebpf.enable"},
		{"ebpf extras without ebpf in file", nil, "ebpf:\n  extras: true\n", "--ebpf.extras", "--ebpf.enable"},
		{"ebpf key misspelt", nil, "ebpf:\n  enabled: true\n", "line 2", `"enable"`},
		{"negative container cap", []string{"--podman.max-containers=-1"}, "", "--podman.max-containers", "0 for no cap"},
		{"label value length", []string{"--podman.label-value-max-length=0"}, "", "--podman.label-value-max-length", "128"},
		{"empty container label", []string{"--podman.container-label="}, "", "--podman.container-label", "key"},
		{"proc root", []string{"--podman.proc-root=" + dir}, "", "--podman.proc-root", "/host/proc"},
		{"telemetry path", []string{"--web.telemetry-path=metrics"}, "", "--web.telemetry-path", "/metrics"},
		{"journal sink", []string{"--journal.sink=kafka"}, "", "--journal.sink", "jsonl"},
		{"otlp sink without endpoint", []string{"--journal.sink=otlp"}, "", "--journal.sink", "--otlp.endpoint"},
		{"otlp endpoint without scheme", []string{"--otlp.endpoint=collector:4317"}, "", "--otlp.endpoint", "http://"},
		{"otlp protocol", []string{"--otlp.endpoint=http://127.0.0.1:4318", "--otlp.protocol=thrift"}, "", "--otlp.protocol", "plaintext"},
		{"otlp protocol from env", nil, "", "--otlp.protocol", "https://"},
		{"otlp compression", []string{"--otlp.endpoint=http://127.0.0.1:4318", "--otlp.compression=lz4"}, "", "--otlp.compression", "configuration.md"},
		{"otlp missing CA", []string{"--otlp.endpoint=https://127.0.0.1:4317", "--otlp.ca-file=" + filepath.Join(dir, "ca.pem")}, "", "--otlp.ca-file", "https://"},
		{"otlp header", []string{"--otlp.endpoint=http://127.0.0.1:4318", "--otlp.header=novalue"}, "", "--otlp.header", "Authorization"},
		{"otlp metrics interval", []string{"--otlp.endpoint=http://127.0.0.1:4318", "--otlp.metrics.interval=10ms"}, "", "--otlp.metrics.interval", "60s"},
		{"otlp timeout in file", nil, "otlp:\n  endpoint: http://127.0.0.1:4318\n  timeout: soon\n", "otlp.timeout in", "10s"},
		{"journal start", []string{"--journal.start=yesterday"}, "", "--journal.start", "1h"},
		{"journal start negative", []string{"--journal.start=-1h"}, "", "--journal.start", "head"},
		{"journal regex", []string{"--journal.include-container=web-("}, "", "--journal.include-container", "regular expression"},
		{"journal unit regex in file", nil, "journal:\n  exclude_unit: '['\n", "--journal.exclude-unit", "regular expression"},
		{"journal priority", []string{"--journal.max-priority=8"}, "", "--journal.max-priority", "7"},
		{"journal line cap", []string{"--journal.max-line-bytes=10"}, "", "--journal.max-line-bytes", "1048576"},
		{"journal partial timeout", []string{"--journal.partial-timeout=2"}, "", "--journal.partial-timeout", "10s"},
		{"journal batch age in file", nil, "journal:\n  batch_age: soon\n", "journal.batch_age in", "10s"},
		{"journal batch size", []string{"--journal.batch-size=0"}, "", "--journal.batch-size", "1000"},
		{"journal output directory", []string{"--journal.output=" + filepath.Join(dir, "nope", "x.jsonl")}, "", "--journal.output", "standard output"},
		{"journal output relative", []string{"--journal.output=x.jsonl"}, "", "--journal.output", "/var/log"},
		{"journal directory and namespace", []string{"--journal.directory=" + dir, "--journal.namespace=x"}, "", "--journal.namespace", "one of"},
		{"journal extra field", []string{"--journal.extra-fields=code_file"}, "", "--journal.extra-fields", "_SYSTEMD_UNIT"},
		{"journal log format", []string{"--journal.log-format=yaml"}, "", "--journal.log-format", "auto"},
		{"journal log body in file", nil, "journal:\n  log_body: object\n", "--journal.log-body", "map"},
		{"journal multiline", []string{"--journal.multiline=^(x"}, "", "--journal.multiline", "java, python, go"},
		{"journal multiline timeout in file", nil, "journal:\n  multiline_timeout: soon\n", "journal.multiline_timeout in", "10s"},
		{"host log unit without its type", []string{"--journal.units=sshd"}, "", "--journal.units", "sshd.service"},
		{"host log identifier empty", []string{"--journal.identifiers="}, "", "--journal.identifiers", "journalctl -t"},
		{"host log match field", []string{"--journal.match=_systemd_unit=sshd.service"}, "", "--journal.match", "FIELD=value"},
		{"host log match in file", nil, "journal:\n  matches: ['SYSLOG_IDENTIFIER=sudo _UID=']\n", "--journal.match", "FIELD=value"},
		{"host log kernel in file", nil, "journal:\n  kernel: sometimes\n", "journal.kernel in", "true"},
		{"podman container selection regex", []string{"--podman.exclude-container=web-("}, "", "--podman.exclude-container", "regular expression"},
		{"podman image selection in file", nil, "podman:\n  include_image: 'nginx:(1'\n", "--podman.include-image", "regular expression"},
		{"podman empty label key", []string{"--podman.include-label=app", "--podman.include-label==shop"}, "", "--podman.include-label", "key=value"},
		{"podman label key in file", nil, "podman:\n  exclude_labels: ['my team=a']\n", "--podman.exclude-label", "key=value"},
		{"journal label key", []string{"--journal.exclude-label="}, "", "--journal.exclude-label", "key=value"},
		{"journal image in file", nil, "journal:\n  include_image: '['\n", "--journal.include-image", "regular expression"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append(args, "--config.file="+writeFile(t, "podexporter.yml", tc.file))
			}
			env := testEnv(nil)
			if tc.name == "otlp protocol from env" {
				env = testEnv(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})
			}
			_, err := Parse(args, testCollectors, "test", env)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse(%q) = %v, want *config.Error", args, err)
			}
			if !strings.Contains(ce.Setting, tc.setting) {
				t.Errorf("error %q names setting %q, want it to contain %q", err, ce.Setting, tc.setting)
			}
			if !strings.Contains(ce.Fix, tc.fix) {
				t.Errorf("error %q: fix %q lacks %q", err, ce.Fix, tc.fix)
			}
		})
	}
}

// TestUpperBounds: every numeric setting with a bound takes its largest sane value and
// refuses the next one, from a flag and from the file alike, with an error naming the
// flag. The numbers are written out here, not taken from the constants, so that a
// changed bound shows up as a changed test and in docs/configuration.md.
func TestUpperBounds(t *testing.T) {
	tests := []struct {
		flag, section, key string
		max                int64
		// fix is a word the refusal's fix must contain.
		fix string
	}{
		{"web.max-requests", "web", "max_requests", 1000, "0 for no limit"},
		{"podman.max-containers", "podman", "max_containers", 100_000, "0 for no cap"},
		{"podman.label-value-max-length", "podman", "label_value_max_length", 16384, "16384"},
		{"journal.max-priority", "journal", "max_priority", 7, "7"},
		{"journal.max-line-bytes", "journal", "max_line_bytes", 64 << 20, "67108864"},
		{"journal.batch-size", "journal", "batch_size", 100_000, "100000"},
	}
	for _, tc := range tests {
		for _, from := range []string{"flag", "file"} {
			args := func(v int64) []string {
				if from == "flag" {
					return []string{fmt.Sprintf("--%s=%d", tc.flag, v)}
				}
				return []string{"--config.file=" + writeFile(t, "podexporter.yml", fmt.Sprintf("%s:\n  %s: %d\n", tc.section, tc.key, v))}
			}
			t.Run(tc.flag+" from "+from, func(t *testing.T) {
				if _, err := Parse(args(tc.max), testCollectors, "test", testEnv(nil)); err != nil {
					t.Errorf("largest value %d refused: %v", tc.max, err)
				}
				_, err := Parse(args(tc.max+1), testCollectors, "test", testEnv(nil))
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("%d: Parse = %v, want *config.Error", tc.max+1, err)
				}
				if ce.Setting != "--"+tc.flag || !strings.Contains(ce.Problem, fmt.Sprint(tc.max+1)) || !strings.Contains(ce.Fix, tc.fix) {
					t.Errorf("%d: error %q, want it to name --%s and %d, with a fix saying %q", tc.max+1, err, tc.flag, tc.max+1, tc.fix)
				}
			})
		}
	}
}

func TestPrecedence(t *testing.T) {
	file := `
web:
  listen_addresses: ["127.0.0.1:1111"]
  max_requests: 7
podman:
  sockets: ["unix:///from/file.sock"]
  stats_interval: 30s
log:
  level: debug
collectors:
  ebpf: true
  journal: false
`
	path := writeFile(t, "podexporter.yml", file)
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"defaults without file", nil, nil, func(t *testing.T, c *Config) {
			want := Config{Command: CmdRun}
			if c.Command != want.Command || !slices.Equal(c.Web.ListenAddresses, []string{DefaultListenAddress}) ||
				c.Podman.StatsInterval != 10*time.Second || c.Log.Level != "info" || c.Log.Format != "logfmt" ||
				c.State.Directory != "/var/lib/podexporter" || !c.Collectors["journal"] || c.Collectors["ebpf"] {
				t.Errorf("defaults wrong: %+v", c)
			}
			if !slices.Equal(c.Podman.Sockets, []string{RootfulSocket, "unix:///run/user/1000/podman/podman.sock"}) {
				t.Errorf("default sockets = %q", c.Podman.Sockets)
			}
		}},
		{"CONTAINER_HOST replaces the default sockets", nil, map[string]string{"CONTAINER_HOST": "unix:///x/podman.sock"}, func(t *testing.T, c *Config) {
			if !slices.Equal(c.Podman.Sockets, []string{"unix:///x/podman.sock"}) {
				t.Errorf("sockets = %q", c.Podman.Sockets)
			}
		}},
		{"file over defaults", []string{"--config.file=" + path}, nil, func(t *testing.T, c *Config) {
			if !slices.Equal(c.Web.ListenAddresses, []string{"127.0.0.1:1111"}) || c.Web.MaxRequests != 7 ||
				c.Podman.StatsInterval != 30*time.Second || c.Log.Level != "debug" ||
				!c.Collectors["ebpf"] || c.Collectors["journal"] || !c.Collectors["podman"] {
				t.Errorf("file not applied: %+v", c)
			}
			if !slices.Equal(c.Podman.Sockets, []string{"unix:///from/file.sock"}) {
				t.Errorf("sockets = %q", c.Podman.Sockets)
			}
		}},
		{"file over CONTAINER_HOST", []string{"--config.file=" + path}, map[string]string{"CONTAINER_HOST": "unix:///x.sock"}, func(t *testing.T, c *Config) {
			if !slices.Equal(c.Podman.Sockets, []string{"unix:///from/file.sock"}) {
				t.Errorf("sockets = %q", c.Podman.Sockets)
			}
		}},
		{"flags over file", []string{
			"--config.file=" + path, "--web.listen-address=:2222", "--web.listen-address=:3333",
			"--podman.stats-interval=5s", "--log.level=warn", "--no-collector.ebpf", "--collector.journal",
			"--podman.socket=tcp://127.0.0.1:8080",
		}, nil, func(t *testing.T, c *Config) {
			if !slices.Equal(c.Web.ListenAddresses, []string{":2222", ":3333"}) || c.Podman.StatsInterval != 5*time.Second ||
				c.Log.Level != "warn" || c.Collectors["ebpf"] || !c.Collectors["journal"] || c.Web.MaxRequests != 7 {
				t.Errorf("flags did not win: %+v", c)
			}
			if !slices.Equal(c.Podman.Sockets, []string{"tcp://127.0.0.1:8080"}) {
				t.Errorf("sockets = %q", c.Podman.Sockets)
			}
		}},
		{"subcommand", []string{"doctor", "--podman.socket=unix:///a.sock"}, nil, func(t *testing.T, c *Config) {
			if c.Command != CmdDoctor || !slices.Equal(c.Podman.Sockets, []string{"unix:///a.sock"}) {
				t.Errorf("got %q %q", c.Command, c.Podman.Sockets)
			}
		}},
		{"journal defaults", nil, nil, func(t *testing.T, c *Config) {
			j := c.Journal
			if j.Sink != journalconf.SinkNone || j.Output != "-" || j.Start != "tail" || j.MaxPriority != 7 || j.MaxLineBytes != 1<<20 ||
				j.PartialTimeout != 2*time.Second || j.BatchSize != 1000 || j.BatchAge != time.Second {
				t.Errorf("journal defaults wrong: %+v", j)
			}
		}},
		{"journal from file, flags win", []string{"--config.file=" + writeFile(t, "journal.yml", `
journal:
  sink: jsonl
  output: /tmp/x.jsonl
  start: 2h
  units: [web.service]
  include_container: ^web
  max_priority: 4
  partial_timeout: 5s
  batch_size: 10
  extra_fields: [CODE_FILE]
`), "--journal.batch-size=20", "--journal.units=db.service"}, nil, func(t *testing.T, c *Config) {
			j := c.Journal
			since, ok := j.StartSince()
			if j.Sink != journalconf.SinkJSONL || j.Output != "/tmp/x.jsonl" || !ok || since != 2*time.Hour || j.IncludeContainer != "^web" ||
				j.MaxPriority != 4 || j.PartialTimeout != 5*time.Second || j.BatchSize != 20 ||
				!slices.Equal(j.Units, []string{"db.service"}) || !slices.Equal(j.ExtraFields, []string{"CODE_FILE"}) {
				t.Errorf("journal settings wrong: %+v", j)
			}
		}},
		{"ebpf off by default", nil, nil, func(t *testing.T, c *Config) {
			if c.EBPF.Enable || c.EBPF.Extras {
				t.Errorf("eBPF = %+v, want off", c.EBPF)
			}
		}},
		{"ebpf from file, flag wins", []string{"--config.file=" + writeFile(t, "ebpf.yml", "ebpf:\n  enable: true\n  extras: true\n"), "--no-ebpf.extras"}, nil, func(t *testing.T, c *Config) {
			if !c.EBPF.Enable || c.EBPF.Extras {
				t.Errorf("eBPF = %+v, want enable from the file and extras off from the flag", c.EBPF)
			}
		}},
		{"empty file is no settings", []string{"--config.file=" + writeFile(t, "empty.yml", "")}, nil, func(t *testing.T, c *Config) {
			if c.Log.Level != "info" {
				t.Errorf("log level %q", c.Log.Level)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.args, testCollectors, "test", testEnv(tc.env))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tc.check(t, c)
		})
	}
}

// TestOTLPPrecedence: flags over the file over OTEL_EXPORTER_OTLP_* over defaults; the
// protocol variable the Go exporters ignore is honoured.
func TestOTLPPrecedence(t *testing.T) {
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		"OTEL_EXPORTER_OTLP_HEADERS":  "Authorization=Bearer%20abc,X-Team=ops",
		"OTEL_EXPORTER_OTLP_TIMEOUT":  "2500",
	}
	file := writeFile(t, "podexporter.yml", "otlp:\n  endpoint: http://127.0.0.1:14317\n  metrics_interval: 15s\n")
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		endpoint string
		protocol string
		timeout  time.Duration
		interval time.Duration
		sink     string
	}{
		{"defaults", nil, nil, "", "http/protobuf", 10 * time.Second, 60 * time.Second, journalconf.SinkNone},
		{"environment", nil, env, "http://127.0.0.1:4317", "grpc", 2500 * time.Millisecond, 60 * time.Second, journalconf.SinkOTLP},
		{"file over environment", []string{"--config.file=" + file}, env, "http://127.0.0.1:14317", "grpc", 2500 * time.Millisecond, 15 * time.Second, journalconf.SinkOTLP},
		{"flags over all", []string{"--config.file=" + file, "--otlp.endpoint=https://127.0.0.1:24317", "--otlp.protocol=http/protobuf", "--otlp.timeout=1s", "--journal.sink=jsonl"}, env,
			"https://127.0.0.1:24317", "http/protobuf", time.Second, 15 * time.Second, journalconf.SinkJSONL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.args, testCollectors, "test", testEnv(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			o := c.OTLP
			if o.Endpoint != tc.endpoint || o.Protocol != tc.protocol || o.Timeout != tc.timeout || o.MetricsInterval != tc.interval || c.Journal.Sink != tc.sink {
				t.Fatalf("got endpoint %q protocol %q timeout %s interval %s sink %q", o.Endpoint, o.Protocol, o.Timeout, o.MetricsInterval, c.Journal.Sink)
			}
			if tc.env != nil && len(tc.args) < 3 {
				if h := o.HeaderMap(); h["Authorization"] != "Bearer abc" || h["X-Team"] != "ops" {
					t.Errorf("headers = %v", h)
				}
			}
		})
	}
}

func TestPrepareStateDir(t *testing.T) {
	ok := &Config{State: State{Directory: filepath.Join(t.TempDir(), "a", "b")}}
	if err := ok.PrepareStateDir(); err != nil {
		t.Fatalf("creatable directory: %v", err)
	}
	// A regular file where the directory should be cannot be fixed by MkdirAll, even as root.
	blocker := writeFile(t, "file", "x")
	bad := &Config{State: State{Directory: filepath.Join(blocker, "state")}}
	var ce *Error
	if err := bad.PrepareStateDir(); !errors.As(err, &ce) || ce.Setting != "--state.directory" {
		t.Fatalf("PrepareStateDir under a file = %v, want a --state.directory error", err)
	}
}

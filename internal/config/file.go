package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// fileConfig is the YAML form. Pointers tell "absent" from "zero", so that only the
// keys present in the file override defaults.
type fileConfig struct {
	Web struct {
		ListenAddresses *[]string `yaml:"listen_addresses"`
		ConfigFile      *string   `yaml:"config_file"`
		SystemdSocket   *bool     `yaml:"systemd_socket"`
		TelemetryPath   *string   `yaml:"telemetry_path"`
		MaxRequests     *int      `yaml:"max_requests"`
	} `yaml:"web"`
	Podman struct {
		Sockets             *[]string     `yaml:"sockets"`
		StatsInterval       *fileDuration `yaml:"stats_interval"`
		SlowInterval        *fileDuration `yaml:"slow_interval"`
		SizeInterval        *fileDuration `yaml:"size_interval"`
		MaxContainers       *int          `yaml:"max_containers"`
		ContainerLabels     *[]string     `yaml:"container_labels"`
		LabelValueMaxLength *int          `yaml:"label_value_max_length"`
		NameLabel           *bool         `yaml:"name_label"`
		ProcRoot            *string       `yaml:"proc_root"`
	} `yaml:"podman"`
	Journal struct {
		Directory        *string       `yaml:"directory"`
		Namespace        *string       `yaml:"namespace"`
		Sink             *string       `yaml:"sink"`
		Output           *string       `yaml:"output"`
		Start            *string       `yaml:"start"`
		Units            *[]string     `yaml:"units"`
		IncludeContainer *string       `yaml:"include_container"`
		ExcludeContainer *string       `yaml:"exclude_container"`
		IncludeUnit      *string       `yaml:"include_unit"`
		ExcludeUnit      *string       `yaml:"exclude_unit"`
		MaxPriority      *int          `yaml:"max_priority"`
		MaxLineBytes     *int          `yaml:"max_line_bytes"`
		PartialTimeout   *fileDuration `yaml:"partial_timeout"`
		BatchSize        *int          `yaml:"batch_size"`
		BatchAge         *fileDuration `yaml:"batch_age"`
		ExtraFields      *[]string     `yaml:"extra_fields"`
		LogFormat        *string       `yaml:"log_format"`
		LogBody          *string       `yaml:"log_body"`
		Multiline        *string       `yaml:"multiline"`
		MultilineTimeout *fileDuration `yaml:"multiline_timeout"`
	} `yaml:"journal"`
	State struct {
		Directory *string `yaml:"directory"`
	} `yaml:"state"`
	Log struct {
		Level  *string `yaml:"level"`
		Format *string `yaml:"format"`
	} `yaml:"log"`
	OTLP struct {
		Endpoint           *string       `yaml:"endpoint"`
		Protocol           *string       `yaml:"protocol"`
		Headers            *[]string     `yaml:"headers"`
		CAFile             *string       `yaml:"ca_file"`
		CertFile           *string       `yaml:"cert_file"`
		KeyFile            *string       `yaml:"key_file"`
		InsecureSkipVerify *bool         `yaml:"insecure_skip_verify"`
		Compression        *string       `yaml:"compression"`
		Timeout            *fileDuration `yaml:"timeout"`
		Metrics            *bool         `yaml:"metrics"`
		MetricsInterval    *fileDuration `yaml:"metrics_interval"`
		Events             *bool         `yaml:"events"`
	} `yaml:"otlp"`
	EBPF struct {
		Enable *bool `yaml:"enable"`
		Extras *bool `yaml:"extras"`
	} `yaml:"ebpf"`
	Collectors map[string]*bool `yaml:"collectors"`
}

// fileDuration keeps the raw text and line so that a bad value is reported with the
// key it belongs to, which only the caller knows.
type fileDuration struct {
	raw  string
	line int
}

func (d *fileDuration) UnmarshalYAML(n *yaml.Node) error {
	d.raw, d.line = n.Value, n.Line
	return nil
}

func (d *fileDuration) parse(path, key string) (time.Duration, error) {
	v, err := time.ParseDuration(d.raw)
	if err != nil {
		return 0, &Error{
			Setting: fmt.Sprintf("%s in %s line %d", key, path, d.line),
			Problem: fmt.Sprintf("%q is not a duration", d.raw),
			Fix:     "write a number with a unit, such as 10s, 500ms or 1m30s",
		}
	}
	return v, nil
}

var unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type`)

func loadFile(path string) (*fileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Setting: "--config.file", Problem: err.Error(), Fix: "give the path of a readable YAML file, or leave the flag out"}
	}
	var fc fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) {
		if m := unknownField.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			fix := "remove it or correct its spelling (see docs/configuration.md)"
			if s := closestKey(m[2]); s != "" {
				fix = fmt.Sprintf("did you mean %q? (see docs/configuration.md)", s)
			}
			return nil, &Error{Setting: fmt.Sprintf("%s line %d", path, line), Problem: fmt.Sprintf("unknown key %q", m[2]), Fix: fix}
		}
		return nil, &Error{Setting: "--config.file " + path, Problem: strings.TrimPrefix(err.Error(), "yaml: "), Fix: "correct the YAML (see docs/configuration.md for the keys)"}
	}
	return &fc, nil
}

// fileKeys lists every key the file accepts, for suggestions.
func fileKeys() []string {
	var keys []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			keys = append(keys, name)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeFor[fileConfig]())
	return keys
}

func closestKey(bad string) string {
	best, bestDist := "", 4
	for _, k := range fileKeys() {
		if d := editDistance(bad, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Package journalconf holds the journal reader's settings and their validation. It is
// kept apart from package journald, which needs libsystemd through cgo, so that the
// configuration assembly (and its fuzz targets) builds without cgo; journald.FromSettings
// turns validated Settings into the reader's Config.
package journalconf

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/podexporter/podexporter/internal/setting"
	"github.com/podexporter/podexporter/journald/logparse"
	"github.com/podexporter/podexporter/journald/multiline"
)

// Sinks container log lines can go to. SinkAuto is resolved by the configuration
// assembly, which knows whether an OTLP endpoint is set: otlp when it is, else none.
const (
	SinkNone  = "none"
	SinkJSONL = "jsonl"
	SinkOTLP  = "otlp"
	SinkAuto  = "auto"
)

// Settings configures where container logs are read from and where they go.
type Settings struct {
	// Directory, when set, is read instead of the local journal.
	Directory string
	// Namespace, when set, reads that journald namespace instead.
	Namespace string
	// Sink is where log records go: SinkNone (the reader does not run), SinkJSONL,
	// SinkOTLP or SinkAuto.
	Sink string
	// Output is the JSON lines file, or "-" for standard output.
	Output string
	// Start is where the first run begins: "head", "tail" or a duration ago.
	Start string
	// Units are systemd units whose own messages are read too.
	Units []string
	// Container and unit filters, regular expressions; empty means no filter.
	IncludeContainer string
	ExcludeContainer string
	IncludeUnit      string
	ExcludeUnit      string
	MaxPriority      int
	MaxLineBytes     int
	PartialTimeout   time.Duration
	BatchSize        int
	BatchAge         time.Duration
	ExtraFields      []string

	// LogFormat is how lines are read when their container has no
	// io.podexporter.log.format label: raw, text, json, logfmt or auto.
	LogFormat string
	// LogBody is what a parsed JSON or logfmt line's body is: "message" (the
	// message field; the other fields become attributes) or "map" (the whole object).
	LogBody string
	// Multiline joins the continuation lines of a container without an
	// io.podexporter.log.multiline label: "" (none), java, python, go, or a regular
	// expression matching the first line of a record.
	Multiline string
	// MultilineTimeout is how long a record waits for its next line once the reader
	// has caught up; while behind, it is measured in the entries' timestamps.
	MultilineTimeout time.Duration
}

// Log body modes for Settings.LogBody.
const (
	BodyMessage = "message"
	BodyMap     = "map"
)

// StartSince returns how far back a first run starts, when Start is a duration.
func (s *Settings) StartSince() (time.Duration, bool) {
	d, err := time.ParseDuration(s.Start)
	return d, err == nil
}

// Upper bounds of the numeric settings. Each caps what the reader holds in memory; a
// larger value is a typo, not a need, and would let one noisy container take the host's
// memory before anything is delivered.
const (
	// MaxLineBytesLimit is the longest --journal.max-line-bytes: a line being joined
	// from conmon's pieces, a multiline record and every record of a batch may each
	// hold this much, and OTLP receivers refuse far smaller requests (the Collector's
	// gRPC receiver takes 4 MiB by default).
	MaxLineBytesLimit = 64 << 20
	// BatchSizeLimit is the largest --journal.batch-size: a batch holds this many
	// records, and several batches wait for the sink at once.
	BatchSizeLimit = 100_000
)

var journalField = regexp.MustCompile(`^[A-Z0-9_]+$`)

// Validate checks every journal setting; a problem comes back as a *setting.Error
// naming the flag and the fix.
func (s *Settings) Validate() error {
	if d := s.Directory; d != "" {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return &setting.Error{Setting: "--journal.directory", Problem: fmt.Sprintf("%q is not a readable directory", d), Fix: "give a directory that holds journal files, such as /var/log/journal, or leave it out for the local journal"}
		}
	}
	if s.Directory != "" && s.Namespace != "" {
		return &setting.Error{Setting: "--journal.namespace", Problem: "given together with --journal.directory", Fix: "use one of the two"}
	}
	if !slices.Contains([]string{SinkNone, SinkJSONL, SinkOTLP, SinkAuto}, s.Sink) {
		return &setting.Error{Setting: "--journal.sink", Problem: fmt.Sprintf("%q is not a sink", s.Sink), Fix: "use auto, otlp, jsonl or none"}
	}
	if s.Output != "-" {
		if fi, err := os.Stat(filepath.Dir(s.Output)); err != nil || !fi.IsDir() || !filepath.IsAbs(s.Output) {
			return &setting.Error{Setting: "--journal.output", Problem: fmt.Sprintf("%q is not an absolute path in an existing directory", s.Output), Fix: "give a path such as /var/log/podexporter/containers.jsonl, or - for standard output"}
		}
	}
	if d, ok := s.StartSince(); (!ok || d <= 0) && s.Start != "head" && s.Start != "tail" {
		return &setting.Error{Setting: "--journal.start", Problem: fmt.Sprintf("%q is neither head, tail nor a positive duration", s.Start), Fix: "use head, tail, or a duration such as 1h"}
	}
	for _, r := range []struct{ flag, expr string }{
		{"--journal.include-container", s.IncludeContainer}, {"--journal.exclude-container", s.ExcludeContainer},
		{"--journal.include-unit", s.IncludeUnit}, {"--journal.exclude-unit", s.ExcludeUnit},
	} {
		if _, err := regexp.Compile(r.expr); err != nil {
			return &setting.Error{Setting: r.flag, Problem: err.Error(), Fix: "write a Go regular expression, such as ^web-"}
		}
	}
	if s.MaxPriority < 0 || s.MaxPriority > 7 {
		return &setting.Error{Setting: "--journal.max-priority", Problem: fmt.Sprintf("%d is not a syslog priority", s.MaxPriority), Fix: "use 0 (emerg) to 7 (debug); 7 keeps everything"}
	}
	if s.MaxLineBytes < 1024 {
		return &setting.Error{Setting: "--journal.max-line-bytes", Problem: fmt.Sprintf("%d is below 1024", s.MaxLineBytes), Fix: "use 1024 or more; the default is 1048576"}
	}
	if s.MaxLineBytes > MaxLineBytesLimit {
		return &setting.Error{Setting: "--journal.max-line-bytes", Problem: fmt.Sprintf("%d is above %d (64 MiB)", s.MaxLineBytes, MaxLineBytesLimit), Fix: fmt.Sprintf("use at most %d; the default is 1048576", MaxLineBytesLimit)}
	}
	if s.PartialTimeout <= 0 {
		return &setting.Error{Setting: "--journal.partial-timeout", Problem: "not positive", Fix: "use a duration such as 2s"}
	}
	if s.BatchSize < 1 || s.BatchSize > BatchSizeLimit {
		return &setting.Error{Setting: "--journal.batch-size", Problem: fmt.Sprintf("%d is not between 1 and %d", s.BatchSize, BatchSizeLimit), Fix: fmt.Sprintf("use 1 to %d; the default is 1000", BatchSizeLimit)}
	}
	if s.BatchAge <= 0 {
		return &setting.Error{Setting: "--journal.batch-age", Problem: "not positive", Fix: "use a duration such as 1s"}
	}
	if _, ok := logparse.ParseFormat(s.LogFormat); !ok {
		return &setting.Error{Setting: "--journal.log-format", Problem: fmt.Sprintf("%q is not a log format", s.LogFormat), Fix: "use raw (lines as they are), text, json, logfmt or auto"}
	}
	if s.LogBody != BodyMessage && s.LogBody != BodyMap {
		return &setting.Error{Setting: "--journal.log-body", Problem: fmt.Sprintf("%q is not a body mode", s.LogBody), Fix: "use message (the message field is the body) or map (the whole object is)"}
	}
	if _, err := multiline.Parse(s.Multiline); err != nil {
		return &setting.Error{Setting: "--journal.multiline", Problem: err.Error(), Fix: "use java, python, go, or a Go regular expression matching a record's first line, such as ^\\d{4}-"}
	}
	if s.MultilineTimeout <= 0 {
		return &setting.Error{Setting: "--journal.multiline-timeout", Problem: "not positive", Fix: "use a duration such as 1s"}
	}
	for _, f := range s.ExtraFields {
		if !journalField.MatchString(f) {
			return &setting.Error{Setting: "--journal.extra-fields", Problem: fmt.Sprintf("%q is not a journal field name", f), Fix: "use upper-case field names such as _SYSTEMD_UNIT or CODE_FILE"}
		}
	}
	return nil
}

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
	// Identifiers, Matches and Kernel select more of the host's own entries, as Units
	// does: SYSLOG_IDENTIFIER values, journalctl-style match expressions (ParseMatch)
	// and the kernel's messages (_TRANSPORT=kernel).
	Identifiers []string
	Matches     []string
	Kernel      bool
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

	// Label and image selection of containers (Selector), as for the metrics.
	IncludeLabels []string
	ExcludeLabels []string
	IncludeImage  string
	ExcludeImage  string

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
	if _, err := s.Selector(); err != nil {
		return err
	}
	if s.MaxPriority < 0 || s.MaxPriority > 7 {
		return &setting.Error{Setting: "--journal.max-priority", Problem: fmt.Sprintf("%d is not a syslog priority", s.MaxPriority), Fix: "use 0 (emerg) to 7 (debug); 7 keeps everything"}
	}
	if s.MaxLineBytes < 1024 {
		return &setting.Error{Setting: "--journal.max-line-bytes", Problem: fmt.Sprintf("%d is below 1024", s.MaxLineBytes), Fix: fmt.Sprintf("use 1024 or more; the default is %d", DefaultMaxLineBytes)}
	}
	if s.MaxLineBytes > MaxLineBytesLimit {
		return &setting.Error{Setting: "--journal.max-line-bytes", Problem: fmt.Sprintf("%d is above %d (64 MiB)", s.MaxLineBytes, MaxLineBytesLimit), Fix: fmt.Sprintf("use at most %d; the default is %d", MaxLineBytesLimit, DefaultMaxLineBytes)}
	}
	if s.PartialTimeout <= 0 {
		return &setting.Error{Setting: "--journal.partial-timeout", Problem: "not positive", Fix: "use a duration such as 2s"}
	}
	if s.BatchSize < 1 || s.BatchSize > BatchSizeLimit {
		return &setting.Error{Setting: "--journal.batch-size", Problem: fmt.Sprintf("%d is not between 1 and %d", s.BatchSize, BatchSizeLimit), Fix: fmt.Sprintf("use 1 to %d; the default is %d", BatchSizeLimit, DefaultBatchSize)}
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
	return s.validateHostLogs()
}

// Defaults of the settings that the reader also falls back to when a Config leaves
// them zero (tests, fixtures).
const (
	DefaultMaxLineBytes   = 1 << 20
	DefaultPartialTimeout = 2 * time.Second
	DefaultBatchSize      = 1000
	DefaultBatchAge       = time.Second
	// DefaultMultilineTimeout is long enough for a runtime that prints a stack
	// trace line by line through a pipe, short enough not to hold the cursor long.
	DefaultMultilineTimeout = time.Second
)

// Declare declares the journal settings, with their defaults, into set.
func (s *Settings) Declare(set *setting.Set) {
	set.String(&s.Directory, "journal.directory", "Read journal files from this directory instead of the local journal.", "")
	set.String(&s.Namespace, "journal.namespace", "Read this journald namespace instead of the local journal.", "").
		WithDoc("not with `--journal.directory`")
	set.String(&s.Sink, "journal.sink", "Where container log lines go: otlp (to --otlp.endpoint), jsonl (JSON lines to --journal.output), none (logs are not read), or auto: otlp when an OTLP endpoint is set, else none.", SinkAuto)
	set.String(&s.Output, "journal.output", "File the jsonl sink appends to (an absolute path), or - for standard output.", "-")
	set.String(&s.Start, "journal.start", "Where reading starts when no cursor was saved: head, tail, or a duration ago such as 1h.", "tail")
	set.Strings(&s.Units, "journal.units", "Systemd unit whose own messages are read too, such as a Quadlet service; repeat for several.").
		WithDoc("the full name (`sshd.service`), as `_SYSTEMD_UNIT` holds it; see [Host logs](#host-logs)")
	set.Strings(&s.Identifiers, "journal.identifiers", "Syslog identifier (SYSLOG_IDENTIFIER, as journalctl -t takes it) whose messages are read too, such as sudo; repeat for several.").
		WithDoc("see [Host logs](#host-logs)")
	set.Strings(&s.Matches, "journal.match", "Journal match whose entries are read too, written as journalctl takes it: FIELD=value words, values of one field alternatives, different fields all applying, such as 'SYSLOG_IDENTIFIER=sudo _UID=0'; repeat for alternatives.").
		WithKey("journal.matches").WithDoc("a value cannot hold spaces; `+` between groups makes them alternatives, as in journalctl; see [Host logs](#host-logs)")
	set.Bool(&s.Kernel, "journal.kernel", "Read the kernel's messages too (_TRANSPORT=kernel, what journalctl -k shows).", false).
		WithDoc("of every boot the journal holds, not only the current one as `journalctl -k`; see [Host logs](#host-logs)")
	set.String(&s.IncludeContainer, "journal.include-container", "Read only containers whose name matches this regular expression.", "")
	set.String(&s.ExcludeContainer, "journal.exclude-container", "Skip containers whose name matches this regular expression.", "")
	set.String(&s.IncludeUnit, "journal.include-unit", "Read only containers whose systemd unit matches this regular expression.", "")
	set.String(&s.ExcludeUnit, "journal.exclude-unit", "Skip containers whose systemd unit matches this regular expression.", "")
	s.declareSelection(set)
	set.Int(&s.MaxPriority, "journal.max-priority", "Skip entries with a syslog priority above this (0 emerg .. 7 debug).", 7).
		WithDoc("like `journalctl -p`, entries without a priority are skipped too when below 7")
	set.Int(&s.MaxLineBytes, "journal.max-line-bytes", "Longest line kept, in bytes; longer lines are cut at a character boundary and counted.", DefaultMaxLineBytes).
		WithDoc(fmt.Sprintf("1024 to %d (64 MiB)", MaxLineBytesLimit))
	set.Duration(&s.PartialTimeout, "journal.partial-timeout", "How long a line split by conmon waits for its next piece before it is sent as it is.", DefaultPartialTimeout)
	set.Int(&s.BatchSize, "journal.batch-size", "Most lines handed to the sink at once.", DefaultBatchSize).
		WithDoc(fmt.Sprintf("1 to %d", BatchSizeLimit))
	set.Duration(&s.BatchAge, "journal.batch-age", "Longest a line waits for its batch to fill while the reader is behind.", DefaultBatchAge)
	set.String(&s.LogFormat, "journal.log-format", "How container lines are read when the container has no io.podexporter.log.format label: raw (as they are), text (severity from a leading level word), json, logfmt, or auto (JSON objects as JSON, logfmt with a level or msg key as logfmt, else text).", "raw")
	set.String(&s.LogBody, "journal.log-body", "Body of a parsed JSON or logfmt line: message (its message field; the other fields become attributes) or map (the whole object).", BodyMessage)
	set.String(&s.Multiline, "journal.multiline", "Join continuation lines into one record when the container has no io.podexporter.log.multiline label: java, python, go, or a regular expression matching a record's first line. Empty: no joining.", "")
	set.Duration(&s.MultilineTimeout, "journal.multiline-timeout", "How long a multiline record waits for its next line once the reader has caught up (while behind, measured in the entries' own timestamps).", DefaultMultilineTimeout)
	set.Strings(&s.ExtraFields, "journal.extra-fields", "Journal field copied into each record when present, such as _SYSTEMD_UNIT; repeat for several.")
}

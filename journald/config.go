package journald

import (
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/podexporter/podexporter/internal/selector"
	"github.com/podexporter/podexporter/journald/journalconf"
	"github.com/podexporter/podexporter/journald/logparse"
	"github.com/podexporter/podexporter/journald/multiline"
	"github.com/podexporter/podexporter/logrecord"
)

// StartMode says where a reader without a usable checkpoint begins.
type StartMode int

const (
	// StartTail reads only entries written after the reader started.
	StartTail StartMode = iota
	// StartHead reads everything the journal still holds.
	StartHead
	// StartSince reads entries from Config.Since ago on.
	StartSince
)

// Config says what a Reader reads and where it hands the records.
type Config struct {
	// Source: Files (for fixtures), else Directory, else Namespace, else the local
	// journal.
	Files     []string
	Directory string
	Namespace string

	// Units are systemd units whose every message is read, besides container lines.
	Units []string
	// Identifiers, Kernel and Matches select more of the host's own entries, as Units
	// does (hostlogs.go): SYSLOG_IDENTIFIER values, _TRANSPORT=kernel, and match
	// terms, each a list of FIELD=value in which values of one field are
	// alternatives and different fields all apply (journalconf.ParseMatch).
	Identifiers []string
	Kernel      bool
	Matches     [][]string
	// Container filters, by CONTAINER_NAME; nil lets everything through.
	IncludeContainer *regexp.Regexp
	ExcludeContainer *regexp.Regexp
	// Unit filters for container lines, by the entry's _SYSTEMD_UNIT or else the
	// container's Quadlet unit from the Enricher.
	IncludeUnit *regexp.Regexp
	ExcludeUnit *regexp.Regexp
	// Select chooses containers by label and image and leaves out those with the
	// opt-out label, from what the Enricher knows (select.go); nil chooses all.
	Select *selector.Selector
	// MaxPriority drops entries whose PRIORITY is above it or missing; nil keeps
	// all.
	MaxPriority *int

	Start StartMode
	Since time.Duration

	// MaxLineBytes caps a line, joined or not; longer ones are cut and counted.
	MaxLineBytes int
	// PartialTimeout flushes a line whose last piece never came (conmon flags a
	// final line without newline as partial too).
	PartialTimeout time.Duration
	// BatchSize and BatchAge bound a batch: it is handed to the sink when full,
	// when it is BatchAge old, or when the reader has caught up.
	BatchSize int
	BatchAge  time.Duration
	// InFlight is how many sealed batches may wait for the sink before reading
	// stops.
	InFlight int
	// ExtraFields are journal fields copied into Record.Extra when present.
	ExtraFields []string

	// Format is how lines are read when the container's io.podexporter.log.format
	// label does not say (or the container is unknown); Raw parses nothing.
	Format logparse.Format
	// MapBody makes a parsed object the record's body instead of its message.
	MapBody bool
	// Multiline joins continuation lines when the container's
	// io.podexporter.log.multiline label does not say; nil joins nothing.
	Multiline multiline.Rule
	// MultilineTimeout is how long a record waits for its next line: by the wall
	// clock once caught up, by the entries' timestamps while behind.
	MultilineTimeout time.Duration

	// Checkpoint keeps the cursor across restarts; nil starts per Start each time.
	Checkpoint *Checkpoint
	Sink       logrecord.Sink
	// Enricher is optional.
	Enricher logrecord.Enricher
	Logger   *slog.Logger
}

// Defaults for the zero values of Config: the settings' own defaults, declared once
// in journalconf, and how many batches may wait for the sink, which is not a setting.
const (
	DefaultMaxLineBytes     = journalconf.DefaultMaxLineBytes
	DefaultPartialTimeout   = journalconf.DefaultPartialTimeout
	DefaultBatchSize        = journalconf.DefaultBatchSize
	DefaultBatchAge         = journalconf.DefaultBatchAge
	DefaultMultilineTimeout = journalconf.DefaultMultilineTimeout
	DefaultInFlight         = 4
)

// FromSettings is the reader configuration for the user's journal settings: the
// filters compiled, the priority cap and the start mode decoded. What only the wiring
// knows (Checkpoint, Sink, Enricher, Logger) is left for the caller to set.
func FromSettings(s journalconf.Settings) (Config, error) {
	c := Config{
		Directory:      s.Directory,
		Namespace:      s.Namespace,
		Units:          s.Units,
		Identifiers:    s.Identifiers,
		Kernel:         s.Kernel,
		MaxLineBytes:   s.MaxLineBytes,
		PartialTimeout: s.PartialTimeout,
		BatchSize:      s.BatchSize,
		BatchAge:       s.BatchAge,
		ExtraFields:    s.ExtraFields,
		MapBody:        s.LogBody == journalconf.BodyMap,

		MultilineTimeout: s.MultilineTimeout,
	}
	if s.LogFormat != "" {
		f, ok := logparse.ParseFormat(s.LogFormat)
		if !ok {
			return Config{}, fmt.Errorf("journal log format %q: not raw, text, json, logfmt or auto", s.LogFormat)
		}
		c.Format = f
	}
	for _, m := range s.Matches {
		terms, err := journalconf.ParseMatch(m)
		if err != nil {
			return Config{}, fmt.Errorf("journal match: %w", err)
		}
		c.Matches = append(c.Matches, terms...)
	}
	rule, err := multiline.Parse(s.Multiline)
	if err != nil {
		return Config{}, fmt.Errorf("journal multiline rule: %w", err)
	}
	c.Multiline = rule
	if c.Select, err = s.Selector(); err != nil {
		return Config{}, fmt.Errorf("journal container selection: %w", err)
	}
	for _, f := range []struct {
		setting, expr string
		dst           **regexp.Regexp
	}{
		{"include container", s.IncludeContainer, &c.IncludeContainer},
		{"exclude container", s.ExcludeContainer, &c.ExcludeContainer},
		{"include unit", s.IncludeUnit, &c.IncludeUnit},
		{"exclude unit", s.ExcludeUnit, &c.ExcludeUnit},
	} {
		if f.expr == "" {
			continue
		}
		re, err := regexp.Compile(f.expr)
		if err != nil {
			return Config{}, fmt.Errorf("journal %s filter: %w", f.setting, err)
		}
		*f.dst = re
	}
	// 7 (debug) is the highest priority there is, so it filters nothing; leaving the
	// cap unset also keeps entries without PRIORITY.
	if s.MaxPriority < 7 {
		p := s.MaxPriority
		c.MaxPriority = &p
	}
	switch d, since := s.StartSince(); {
	case since:
		c.Start, c.Since = StartSince, d
	case s.Start == "head":
		c.Start = StartHead
	default:
		c.Start = StartTail
	}
	return c, nil
}

// Package logrecord is the log path's data model: the record the journal reader
// produces, the sink contract it delivers batches through, and the container facts
// an enricher adds. Plain values, no cgo: the sinks (otlp, jsonl) and the daemon's
// wiring import it without the journal reader and its libsystemd.
package logrecord

import (
	"context"
	"time"

	"github.com/podexporter/podexporter/journald/logparse"
)

// Record is one log line as read from the journal: a container line (its pieces
// joined) or one of the host's own entries that a host selection chose (Host set). It holds plain values so
// that any sink can map it without knowing the journal.
type Record struct {
	// Time is when the line was written at its source: _SOURCE_REALTIME_TIMESTAMP,
	// else the entry's realtime timestamp.
	Time time.Time
	// Observed is when the reader read the (last piece of the) line.
	Observed time.Time
	// Priority is the syslog PRIORITY 0..7, or -1 when the entry had none.
	Priority int
	Severity Severity
	// Body is MESSAGE without its trailing newline. It may hold invalid UTF-8 or
	// binary data, exactly as the journal stored it.
	Body string
	// Stream is "stdout" or "stderr" for container lines, from conmon's priorities
	// (6 and 3); empty otherwise.
	Stream string
	// ContainerID is the 12-character id, ContainerIDFull the 64-character one.
	ContainerID     string
	ContainerIDFull string
	ContainerName   string
	// ContainerTag is conmon's CONTAINER_TAG (podman run --log-opt tag=...).
	ContainerTag string
	// Unit is the entry's _SYSTEMD_UNIT: for a Quadlet container, its service.
	Unit string
	// Identifier is SYSLOG_IDENTIFIER.
	Identifier string
	Hostname   string
	BootID     string
	// Cursor is the journal cursor of the entry, for a joined line that of its last
	// piece, so a receiver can use it to drop duplicates.
	Cursor string
	// Extra holds the allowlisted extra fields present on the entry.
	Extra map[string]string
	// Pieces is how many journal entries made this line (1 for an unsplit line).
	Pieces int
	// Truncated is set when the joined line hit the size cap and was cut.
	Truncated bool
	// Lines is how many lines a multiline rule joined into this record, 1 when it
	// joined none; they are separated by "\n" in Body.
	Lines int
	// Size is the length of the line as written, all its pieces and lines: Body
	// may hold only the message of a parsed line.
	Size int
	// Parsed is what the container's log format read from the line; nil when the
	// line is sent as it came. Body is then its message (unless the object is the
	// body), and Severity and Time are the line's own when it gave them.
	Parsed *logparse.Line

	// Enrichment from the Podman snapshot, when an Enricher knows the container.
	Image   string
	PodID   string
	PodName string
	// QuadletUnit is the container's PODMAN_SYSTEMD_UNIT label.
	QuadletUnit string
	Labels      map[string]string

	// Host is set on the host's own records (entries the host selections chose:
	// units, identifiers, matches, kernel), nil on container lines.
	Host *HostEntry
}

// HostEntry is where a host record came from, as the journal says: the trusted
// fields journald adds about the process that logged it, and how it arrived.
type HostEntry struct {
	// PID is _PID, 0 when absent (kernel messages have none).
	PID int
	// Exe is _EXE, the executable's path; Comm is _COMM, the process's name.
	Exe  string
	Comm string
	// Transport is _TRANSPORT: journal, syslog, stdout, kernel, driver or audit.
	Transport string
	// Facility is SYSLOG_FACILITY, -1 when absent.
	Facility int
}

// Severity is the OpenTelemetry severity number.
type Severity int

// severities maps syslog priorities to OpenTelemetry severity numbers, as the
// OpenTelemetry syslog mapping does.
var severities = [8]Severity{21, 19, 18, 17, 13, 10, 9, 5}

var severityTexts = map[Severity]string{21: "FATAL", 19: "ERROR3", 18: "ERROR2", 17: "ERROR", 13: "WARN", 10: "INFO2", 9: "INFO", 5: "DEBUG"}

// SeverityFromPriority maps a syslog priority (0 emerg .. 7 debug) to its
// OpenTelemetry severity; anything else is unspecified (0).
func SeverityFromPriority(p int) Severity {
	if p < 0 || p > 7 {
		return 0
	}
	return severities[p]
}

// String is the OpenTelemetry severity text, or "" when unspecified.
func (s Severity) String() string { return severityTexts[s] }

// SeverityText is the record's severity as its line wrote it ("warning", "E"), or
// else the OpenTelemetry text of its severity number.
func (r *Record) SeverityText() string {
	if r.Parsed != nil && r.Parsed.SeverityText != "" {
		return r.Parsed.SeverityText
	}
	return r.Severity.String()
}

// Range is the severity's range name, as OpenTelemetry groups the numbers: trace,
// debug, info, warn, error, fatal, or unspecified.
func (s Severity) Range() string {
	if s < 1 || s > 24 {
		return "unspecified"
	}
	return severityRanges[(s-1)/4]
}

var severityRanges = [6]string{"trace", "debug", "info", "warn", "error", "fatal"}

// Sink receives batches of records and acknowledges them. The reader saves the
// journal cursor only after Deliver returned nil, so a sink must return nil only
// once the records are safe (written and synced, or accepted by the receiver).
// The sink owns retries: Deliver keeps trying (with internal/backoff) until then,
// and returns an error only when ctx ended; the reader calls it once per batch.
// A sink must not keep the slice, or point into it, once Deliver returned: the
// reader fills it again with later records (the records' values, strings
// included, may be kept).
type Sink interface {
	Deliver(ctx context.Context, records []Record) error
}

// PipelinedSink is a Sink that takes several batches at once: Deliver may be called
// again before an earlier call returned, up to Pipeline() calls at a time (1 or less
// means one). The reader still acknowledges in order: a batch's cursor is saved only
// once it and every batch before it were delivered, so a crash repeats at most the
// batches in flight.
type PipelinedSink interface {
	Sink
	Pipeline() int
}

// RetryCounter is a sink that counts the batches it had to send again; the reader
// reports it as its sink retries.
type RetryCounter interface {
	Retries() uint64
}

// ContainerInfo is what an Enricher knows about a container.
type ContainerInfo struct {
	Image   string
	PodID   string
	PodName string
	// QuadletUnit is the PODMAN_SYSTEMD_UNIT label Quadlet sets.
	QuadletUnit string
	// Labels are all the container's labels, for the log hints; ExportedLabels the
	// allowlisted ones with their values as every output shows them (cut), which
	// records carry. Both are shared: never modified.
	Labels         map[string]string
	ExportedLabels map[string]string
	// Exited is set once the container has stopped: its pending partial line can
	// be flushed, no further piece will come.
	Exited bool
}

// Enricher looks up containers by id (the full id when the entry has it, else the
// 12-character one). The daemon wires one over the Podman snapshots; the reader works without.
type Enricher interface {
	Container(id string) (ContainerInfo, bool)
}

// AnsweringEnricher is an Enricher that also tells a container none of its sources
// has from one it could not ask about in time (a source busy or down): the reader
// selects containers by labels and images, and must not judge a container whose
// labels it could not see as one that has none.
type AnsweringEnricher interface {
	Enricher
	// ContainerAnswered is Container with answered false when found is false only
	// because a source did not answer in time.
	ContainerAnswered(id string) (info ContainerInfo, found, answered bool)
}

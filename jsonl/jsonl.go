// Package jsonl is a log sink (logrecord.Sink) that writes one JSON object per
// line, to standard output or to a file that Fluent Bit's or Vector's tail input
// can follow.
// A batch is acknowledged only once it is written, and synced when the output is
// a file, so the reader saves its cursor only for lines that are on disk.
package jsonl

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/podexporter/podexporter/internal/backoff"
	"github.com/podexporter/podexporter/logrecord"
)

// Sink writes records as JSON lines.
type Sink struct {
	w       io.Writer
	file    *os.File // set when the output can and should be synced
	buf     bytes.Buffer
	log     *slog.Logger
	retries atomic.Uint64
}

// Retry bounds for a write that failed (disk full, a pipe's reader gone for now).
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// New writes to w without syncing.
func New(w io.Writer) *Sink { return &Sink{w: w, log: slog.New(slog.DiscardHandler)} }

// SetLogger sets where the first failure of an outage and the recovery are logged.
func (s *Sink) SetLogger(l *slog.Logger) { s.log = l.With("component", "jsonl") }

// Retries counts the batches written again after a failed write.
func (s *Sink) Retries() uint64 { return s.retries.Load() }

// Open appends to the file at path, or writes to standard output for "-".
func Open(path string) (*Sink, error) {
	if path == "-" || path == "" {
		return New(os.Stdout), nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open JSON lines output: %w", err)
	}
	return &Sink{w: f, file: f, log: slog.New(slog.DiscardHandler)}, nil
}

// Close closes the output file, if any.
func (s *Sink) Close() error {
	if s.file != nil {
		return s.file.Close()
	}
	return nil
}

// line is the JSON form of a record. Field names follow the OpenTelemetry log data
// model where one exists, so the lines map onto OTLP without guessing.
type line struct {
	Time           time.Time `json:"time"`
	ObservedTime   time.Time `json:"observed_time"`
	SeverityNumber int       `json:"severity_number,omitempty"`
	SeverityText   string    `json:"severity_text,omitempty"`
	Priority       *int      `json:"priority,omitempty"`
	// Body is the line (or its message), or the whole parsed object as a map.
	Body          any               `json:"body"`
	Stream        string            `json:"log.iostream,omitempty"`
	ContainerID   string            `json:"container.id,omitempty"`
	ContainerName string            `json:"container.name,omitempty"`
	ContainerTag  string            `json:"container.tag,omitempty"`
	Image         string            `json:"container.image.name,omitempty"`
	PodID         string            `json:"pod.id,omitempty"`
	PodName       string            `json:"pod.name,omitempty"`
	Unit          string            `json:"systemd.unit,omitempty"`
	QuadletUnit   string            `json:"quadlet.unit,omitempty"`
	Identifier    string            `json:"syslog.identifier,omitempty"`
	Hostname      string            `json:"host.name,omitempty"`
	BootID        string            `json:"boot.id,omitempty"`
	Cursor        string            `json:"log.record.uid"`
	Pieces        int               `json:"pieces,omitempty"`
	Truncated     bool              `json:"truncated,omitempty"`
	Lines         int               `json:"lines,omitempty"`
	Attributes    object            `json:"attributes,omitempty"`
	TraceID       string            `json:"trace_id,omitempty"`
	SpanID        string            `json:"span_id,omitempty"`
	TraceFlags    int               `json:"trace_flags,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Fields        map[string]string `json:"fields,omitempty"`

	// The host's own records: the process that logged, the facility and how the
	// journal received it (logrecord.HostEntry).
	PID       int    `json:"process.pid,omitempty"`
	Exe       string `json:"process.executable.path,omitempty"`
	Facility  *int   `json:"syslog.facility,omitempty"`
	Transport string `json:"transport,omitempty"`
}

// Deliver writes the batch with one write call, so a crash leaves whole lines, and
// retries a failed write (with backoff, logged once per outage) until it is written
// or ctx ends: the sink owns retries. Bodies that are not valid UTF-8 are written
// with U+FFFD in place of the bad bytes, as JSON requires.
func (s *Sink) Deliver(ctx context.Context, recs []logrecord.Record) error {
	if err := s.encode(recs); err != nil {
		return err
	}
	failing := false
	err := backoff.Retry(ctx, backoff.Policy{Min: minBackoff, Max: maxBackoff}, func(context.Context) error {
		return s.write()
	}, func(attempt int, err error, _ time.Duration) {
		s.retries.Add(1)
		if !failing {
			failing = true
			s.log.Warn("cannot write JSON lines; retrying, journal reading paused", "records", len(recs), "err", err)
		}
	})
	if err == nil && failing {
		s.log.Info("JSON lines written again")
	}
	return err
}

func (s *Sink) encode(recs []logrecord.Record) error {
	s.buf.Reset()
	enc := json.NewEncoder(&s.buf)
	enc.SetEscapeHTML(false)
	for i := range recs {
		r := &recs[i]
		l := line{
			Time: r.Time.UTC(), ObservedTime: r.Observed.UTC(),
			SeverityNumber: int(r.Severity), SeverityText: r.SeverityText(),
			Body: r.Body, Stream: r.Stream,
			ContainerID: r.ContainerIDFull, ContainerName: r.ContainerName, ContainerTag: r.ContainerTag,
			Image: r.Image, PodID: r.PodID, PodName: r.PodName, Unit: r.Unit, QuadletUnit: r.QuadletUnit,
			Identifier: r.Identifier, Hostname: r.Hostname, BootID: r.BootID, Cursor: r.Cursor,
			Labels: r.Labels, Fields: r.Extra,
		}
		if l.ContainerID == "" {
			l.ContainerID = r.ContainerID
		}
		if r.Priority >= 0 {
			p := r.Priority
			l.Priority = &p
		}
		if h := r.Host; h != nil {
			l.PID, l.Exe, l.Transport = h.PID, h.Exe, h.Transport
			if h.Facility >= 0 {
				f := h.Facility
				l.Facility = &f
			}
		}
		if r.Pieces > 1 {
			l.Pieces = r.Pieces
		}
		l.Truncated = r.Truncated
		if r.Lines > 1 {
			l.Lines = r.Lines
		}
		if p := r.Parsed; p != nil {
			if p.Object != nil {
				l.Body = object(p.Object)
			}
			l.Attributes = object(p.Fields)
			if p.TraceID != ([16]byte{}) {
				l.TraceID = hex.EncodeToString(p.TraceID[:])
				l.TraceFlags = int(p.TraceFlags)
			}
			if p.SpanID != ([8]byte{}) {
				l.SpanID = hex.EncodeToString(p.SpanID[:])
			}
		}
		if err := enc.Encode(&l); err != nil {
			return fmt.Errorf("encode record %s: %w", r.Cursor, err)
		}
	}
	return nil
}

func (s *Sink) write() error {
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		return fmt.Errorf("write JSON lines: %w", err)
	}
	if s.file != nil {
		if err := s.file.Sync(); err != nil {
			return fmt.Errorf("sync JSON lines output %s: %w", s.file.Name(), err)
		}
	}
	return nil
}

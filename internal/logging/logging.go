// Package logging builds podexporter's slog logger from the --log.* settings.
package logging

import (
	"io"
	"log/slog"
)

// New returns a logger writing logfmt (slog's text form) or JSON at the given level.
// Level and format were validated by package config; unknown values fall back to
// info and logfmt rather than failing a second time.
func New(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

package telemetry

import (
	"io"
	"log/slog"

	"github.com/turnout-gw/turnout/internal/config"
)

// NewLogger builds the process logger from the log block: slog's JSON
// handler when format is json, its text handler (key=value, for terminals)
// otherwise, at level debug, info (the default), warn or error.
func NewLogger(w io.Writer, l config.Log) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

package telemetry

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

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

// Destinations of log.access other than a file path.
const (
	AccessStdout = "stdout"
	AccessStderr = "stderr"
)

// AccessLogBuffer is how many access log lines may wait for the writer
// before new ones are dropped (and counted).
const AccessLogBuffer = 8192

// AccessLog writes one JSON line per request, asynchronously: requests
// hand their entry to a bounded queue and never wait for the disk; one
// goroutine encodes and writes. When the queue is full the entry is
// dropped and counted (Dropped; turnout_access_log_dropped_total).
//
// A line holds, in this order: time (when the response finished, RFC 3339
// with nanoseconds, UTC), method, path (the client's path, without the
// query), service ("" when none matched), version (the version that
// served; "" when Turnout answered itself), reason (the routing reason:
// pinned, rule, experiment, rollout or default; "" when not routed),
// fallback (true when the request was retried on the fallback version),
// status, duration (seconds, a float), upstream ("" when none was tried)
// and trace_id ("" when tracing is off).
type AccessLog struct {
	queue   chan accessEntry
	quit    chan struct{}
	done    chan struct{}
	closed  atomic.Bool
	dropped atomic.Uint64
	out     *bufio.Writer
	file    io.Closer // nil for stdout and stderr
	err     error     // the first write error, read after done
	once    sync.Once
}

// accessEntry is one request, copied out of the proxy's Result.
type accessEntry struct {
	at                                     time.Time
	method, path, service, version, reason string
	upstream, traceID                      string
	status                                 int
	duration                               time.Duration
	fellBack                               bool
}

// OpenAccessLog opens dest, which is stdout, stderr or a file path
// (created if needed, appended to), and starts the writer with a queue of
// buffer entries.
func OpenAccessLog(dest string, buffer int) (*AccessLog, error) {
	switch dest {
	case AccessStdout:
		return NewAccessLog(os.Stdout, nil, buffer), nil
	case AccessStderr:
		return NewAccessLog(os.Stderr, nil, buffer), nil
	case "":
		return nil, errors.New("access log: no destination")
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	return NewAccessLog(f, f, buffer), nil
}

// NewAccessLog starts an access log writing to w; Close closes c when it
// is not nil.
func NewAccessLog(w io.Writer, c io.Closer, buffer int) *AccessLog {
	if buffer < 1 {
		buffer = 1
	}
	l := &AccessLog{
		queue: make(chan accessEntry, buffer),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
		out:   bufio.NewWriterSize(w, 64<<10),
		file:  c,
	}
	go l.run()
	return l
}

// add queues an entry, or drops and counts it when the queue is full or
// the log is closed. It never blocks.
func (l *AccessLog) add(e *accessEntry) {
	if l.closed.Load() {
		l.dropped.Add(1)
		return
	}
	select {
	case l.queue <- *e:
	default:
		l.dropped.Add(1)
	}
}

// Dropped is how many lines were dropped because the queue was full (or
// the log already closed).
func (l *AccessLog) Dropped() uint64 { return l.dropped.Load() }

// run writes queued entries, flushing whenever the queue runs empty.
func (l *AccessLog) run() {
	defer close(l.done)
	var buf []byte
	write := func(e *accessEntry) {
		buf = appendAccessLine(buf[:0], e)
		if _, err := l.out.Write(buf); err != nil && l.err == nil {
			l.err = err
		}
	}
	flush := func() {
		if err := l.out.Flush(); err != nil && l.err == nil {
			l.err = err
		}
	}
	for {
		select {
		case e := <-l.queue:
			write(&e)
			if len(l.queue) == 0 {
				flush()
			}
		case <-l.quit:
			for {
				select {
				case e := <-l.queue:
					write(&e)
				default:
					flush()
					return
				}
			}
		}
	}
}

// Close stops taking lines, writes every queued one, flushes and closes
// the file. It returns the first write error. Safe to call more than once.
func (l *AccessLog) Close() error {
	l.once.Do(func() {
		l.closed.Store(true)
		close(l.quit)
		<-l.done
		if l.file != nil {
			if err := l.file.Close(); err != nil && l.err == nil {
				l.err = err
			}
		}
	})
	return l.err
}

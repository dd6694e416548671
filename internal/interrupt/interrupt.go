package interrupt

import (
	"context"
	"time"
)

// Deadliner is a connection whose blocked reads and writes a deadline in
// the past wakes (net.Conn is one).
type Deadliner interface {
	SetDeadline(t time.Time) error
}

// Source is a cancellable context that watches one connection at a time
// for its requests. Its methods are safe for concurrent use with its
// cancellation.
type Source interface {
	// Done is the context's Done channel.
	Done() <-chan struct{}
	// Watch sets a past deadline on d when the context is cancelled, at
	// once if it already is. It reports false, watching nothing, when it
	// is watching another connection already.
	Watch(d Deadliner) bool
	// Unwatch ends the watch of d (a no-op when d is not the connection
	// watched). It reports false when the context was cancelled
	// meanwhile: d's deadline may have been set.
	Unwatch(d Deadliner) bool
}

type key struct{}

// Key is the context key under which a Source answers Value with itself.
var Key any = key{}

// Past is the deadline that wakes blocked I/O at once.
var Past = time.Unix(1, 0)

// Watch is a running watch, a value: it costs no allocation when its
// context is a Source. Stop it exactly once.
type Watch struct {
	src  Source
	d    Deadliner
	stop func() bool
}

// Start makes d's blocked I/O end when ctx is cancelled.
func Start(ctx context.Context, d Deadliner) Watch {
	if s, ok := ctx.Value(Key).(Source); ok && s.Done() == ctx.Done() && s.Watch(d) {
		return Watch{src: s, d: d}
	}
	return Watch{stop: context.AfterFunc(ctx, func() { _ = d.SetDeadline(Past) })}
}

// Stop ends the watch. It reports false when the context was cancelled
// first: the connection's deadline may have been set, so it must not be
// used again.
func (w Watch) Stop() bool {
	switch {
	case w.src != nil:
		return w.src.Unwatch(w.d)
	case w.stop != nil:
		return w.stop()
	}
	return true
}

package observe

import (
	"net/http"
	"time"

	"github.com/turnout-gw/turnout/internal/route"
)

// Attempt describes one upstream attempt. A request that falls back makes
// two attempts; both are reported so the failing version's stats see the
// failure even though the client got a good answer.
type Attempt struct {
	Service, Version, Upstream string
	// Status is the upstream's status code, 0 when Err is set.
	Status   int
	Err      error
	Duration time.Duration // until response headers
}

// Result describes one request after its response was written.
type Result struct {
	Decision *route.Decision
	// Served is the version that answered (nil for Turnout's own answers).
	Served   *route.Version
	Upstream string
	FellBack bool
	Status   int
	Err      error
	Duration time.Duration
	// TraceID is the request's trace id when tracing is on.
	TraceID string
	// Request is the client's request (nil for a gRPC call of the
	// in-process middleware); observers only read it, during the call.
	Request *http.Request
}

// Observer is told about every request. Its methods are called on the
// request's goroutine and must be fast and safe for concurrent use; the
// pointers are only valid during the call.
type Observer interface {
	Decided(d *route.Decision)
	Attempted(a *Attempt)
	Finished(r *Result)
}

// Funcs adapts functions to Observer; nil fields are no-ops, so the zero
// Funcs observes nothing.
type Funcs struct {
	DecidedFunc   func(d *route.Decision)
	AttemptedFunc func(a *Attempt)
	FinishedFunc  func(r *Result)
}

// Decided calls DecidedFunc when set.
func (f Funcs) Decided(d *route.Decision) {
	if f.DecidedFunc != nil {
		f.DecidedFunc(d)
	}
}

// Attempted calls AttemptedFunc when set.
func (f Funcs) Attempted(a *Attempt) {
	if f.AttemptedFunc != nil {
		f.AttemptedFunc(a)
	}
}

// Finished calls FinishedFunc when set.
func (f Funcs) Finished(r *Result) {
	if f.FinishedFunc != nil {
		f.FinishedFunc(r)
	}
}

// All fans out to several observers, in order.
type All []Observer

// Decided tells every observer.
func (os All) Decided(d *route.Decision) {
	for _, o := range os {
		o.Decided(d)
	}
}

// Attempted tells every observer.
func (os All) Attempted(a *Attempt) {
	for _, o := range os {
		o.Attempted(a)
	}
}

// Finished tells every observer.
func (os All) Finished(r *Result) {
	for _, o := range os {
		o.Finished(r)
	}
}

package fault

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
)

// Kinds of injected faults: the `kind` label of
// turnout_faults_injected_total.
const (
	KindDelay = "delay"
	KindAbort = "abort"
)

// Spec is a compiled fault. It is immutable; share it freely.
type Spec struct {
	// DelayPercent of requests are held for Delay before they are sent.
	DelayPercent float64
	Delay        time.Duration
	// AbortPercent of requests are answered AbortStatus without reaching
	// the upstream.
	AbortPercent float64
	AbortStatus  int

	delayBelow, abortBelow uint64 // thresholds over 2^32
}

// Compile returns the Spec of a validated fault block, or nil when f is nil
// or injects nothing.
func Compile(f *config.Fault) *Spec {
	if f == nil {
		return nil
	}
	s := &Spec{}
	if d := f.Delay; d != nil && d.Percent > 0 && d.Duration > 0 {
		s.DelayPercent, s.Delay, s.delayBelow = d.Percent, d.Duration.D(), threshold(d.Percent)
	}
	if a := f.Abort; a != nil && a.Percent > 0 {
		s.AbortPercent, s.AbortStatus, s.abortBelow = a.Percent, a.Status, threshold(a.Percent)
	}
	if s.delayBelow == 0 && s.abortBelow == 0 {
		return nil
	}
	return s
}

// threshold maps a percentage to the count of 32-bit values below it.
func threshold(percent float64) uint64 {
	if percent >= 100 {
		return 1 << 32
	}
	return uint64(percent / 100 * (1 << 32))
}

// Outcome is what a fault does to one request.
type Outcome struct {
	// Delay is how long to hold the request (0: not at all).
	Delay time.Duration
	// Abort is the status to answer instead of sending it (0: send it).
	Abort int
}

// Pick decides one request from a uniformly random r: the low 32 bits draw
// the delay, the high 32 bits the abort, so the two are independent (a
// request may be delayed and then aborted, as in Envoy's fault filter). A
// nil Spec injects nothing.
func (s *Spec) Pick(r uint64) Outcome {
	var o Outcome
	if s == nil {
		return o
	}
	if r&0xffffffff < s.delayBelow {
		o.Delay = s.Delay
	}
	if r>>32 < s.abortBelow {
		o.Abort = s.AbortStatus
	}
	return o
}

// Header is the response header that marks an answer given by an injected
// abort; its value is KindAbort.
const Header = "X-Turnout-Fault"

// AbortBody is the plain-text body of the answer to a request aborted with
// status, the same from every applier.
func AbortBody(status int) string {
	return "fault injected: " + strconv.Itoa(status) + " " + http.StatusText(status) + "\n"
}

// Sleep holds a request for an injected delay d: it returns nil after d,
// or ctx's error as soon as ctx ends (a client that goes away ends the
// delay). It is the default wait of every applier.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

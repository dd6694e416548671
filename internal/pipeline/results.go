package pipeline

import (
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/stats"
)

// Results are one service's outcomes: the concern's own counters C, a
// sliding window of the share of outcomes that failed (a diff, a
// violation), which the Gate reads, and a Ring of the last failing samples
// S, all guarded by one lock so a view of them is consistent. It is safe for
// concurrent use.
type Results[S, C any] struct {
	mu   sync.Mutex
	c    C
	win  stats.RatioWindow
	ring Ring[S]
}

// NewResults returns results whose window spans win and whose ring keeps
// samples samples, starting with the counters c.
func NewResults[S, C any](win time.Duration, samples int, c C) *Results[S, C] {
	return &Results[S, C]{c: c, win: stats.NewRatioWindow(win), ring: NewRing[S](samples)}
}

// Resize makes the window span win, keeping the counts that fit.
func (r *Results[S, C]) Resize(win time.Duration) {
	r.mu.Lock()
	r.win.Resize(win)
	r.mu.Unlock()
}

// Record counts one outcome at now in the window, failed or not, and runs
// f, under the lock, to count it in the concern's counters and keep its
// sample.
func (r *Results[S, C]) Record(now time.Time, failed bool, f func(c *C, ring *Ring[S])) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.win.Add(now, failed)
	f(&r.c, &r.ring)
}

// With runs f under the lock: to count what the window does not, or to
// read the counters and samples together.
func (r *Results[S, C]) With(f func(c *C, ring *Ring[S])) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.c, &r.ring)
}

// Rate returns the failed share and the outcomes it rests on over the
// window of length d ending at now (not before since).
func (r *Results[S, C]) Rate(now time.Time, d time.Duration, since time.Time) (float64, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.win.Rate(now, d, since)
}

// Ring keeps the last samples pushed to it. It is not safe for concurrent
// use: Results guard theirs.
type Ring[S any] struct {
	items []S
	next  int
	full  bool
	dirty bool
}

// NewRing returns a ring of n samples (at least one).
func NewRing[S any](n int) Ring[S] { return Ring[S]{items: make([]S, max(n, 1))} }

// Push keeps s, forgetting the oldest sample when the ring is full.
func (r *Ring[S]) Push(s S) {
	r.items[r.next] = s
	r.next = (r.next + 1) % len(r.items)
	r.full = r.full || r.next == 0
	r.dirty = true
}

// Cap returns how many samples the ring keeps.
func (r *Ring[S]) Cap() int { return len(r.items) }

// List returns up to n samples, newest first.
func (r *Ring[S]) List(n int) []S {
	size := r.next
	if r.full {
		size = len(r.items)
	}
	n = min(n, size)
	out := make([]S, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.items[(r.next-i+len(r.items))%len(r.items)])
	}
	return out
}

// Changed reports whether a sample was pushed since the last call.
func (r *Ring[S]) Changed() bool {
	d := r.dirty
	r.dirty = false
	return d
}

// Gate is a rollout analysis check (rollout.Gate) over the windows of a
// concern's Results: the failed share of a service's outcomes over the
// analysis window. Fewer outcomes than analysis.min_requests give no
// verdict; the rollout engine decides that from Evaluate's count.
type Gate[S, C any] struct {
	// Check is the check's name.
	Check string
	// Limit returns the check's threshold in an analysis block, nil when
	// it is not set.
	Limit func(a *config.Analysis) *float64
	// Results returns a service's results, nil when it has none.
	Results func(service string) *Results[S, C]
	// Now is the clock the window is read at.
	Now func() time.Time
}

// Name implements rollout.Gate.
func (g Gate[S, C]) Name() string { return g.Check }

// Threshold implements rollout.Gate: the limit, when set.
func (g Gate[S, C]) Threshold(a *config.Analysis) (float64, bool) {
	if l := g.Limit(a); l != nil {
		return *l, true
	}
	return 0, false
}

// Evaluate implements rollout.Gate: the failed share over the window (not
// before since) and the outcomes it rests on.
func (g Gate[S, C]) Evaluate(service string, window time.Duration, since time.Time) (float64, int64) {
	r := g.Results(service)
	if r == nil {
		return 0, 0
	}
	return r.Rate(g.Now(), window, since)
}

package live

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/stats"
)

// results are one service's validation outcomes. dropped and tooLarge are
// counted on the request path, unmatched by workers; the rest under mu.
type results struct {
	dropped, tooLarge, unmatched atomic.Uint64

	mu                    sync.Mutex
	validated, violations uint64
	ops                   map[string]*opStats
	win                   stats.RatioWindow
	samples               []Sample // ring, next at head
	head                  int
	full                  bool
}

// opStats are one operation's outcomes.
type opStats struct{ validated, violations uint64 }

// Sample is an answer that broke the `from` version's contract.
type Sample struct {
	At         time.Time   `json:"at"`
	Version    string      `json:"version"`
	Operation  string      `json:"operation"`
	Request    string      `json:"request"` // method and upstream path with query
	Status     int         `json:"status"`
	Violations []Violation `json:"violations"`
}

func newResults(win time.Duration, samples int) *results {
	return &results{ops: map[string]*opStats{}, win: stats.NewRatioWindow(win), samples: make([]Sample, samples)}
}

func (r *results) resize(win time.Duration) {
	r.mu.Lock()
	r.win.Resize(win)
	r.mu.Unlock()
}

// record counts one validated answer of op, violating when smp is set.
// The operations are those of the `from` document, so the map is bounded
// by it.
func (r *results) record(now time.Time, op string, smp *Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.ops[op]
	if o == nil {
		o = &opStats{}
		r.ops[op] = o
	}
	r.validated++
	o.validated++
	r.win.Add(now, smp != nil)
	if smp == nil {
		return
	}
	r.violations++
	o.violations++
	r.samples[r.head] = *smp
	r.head = (r.head + 1) % len(r.samples)
	r.full = r.full || r.head == 0
}

// rate returns the violation rate and the validated answers it rests on
// over the window ending at now (not before since).
func (r *results) rate(now time.Time, d time.Duration, since time.Time) (float64, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.win.Rate(now, d, since)
}

// Validation is the runtime part of GET /api/v1/contracts/{service}: what
// validating the `to` version's answers against the `from` version's
// document found.
type Validation struct {
	From, To        string  `json:"-"`
	ValidatePercent float64 `json:"validate_percent"`
	Validated       uint64  `json:"validated"`
	Violations      uint64  `json:"violations"`
	// ViolationRate is Violations / Validated since the service's results
	// started (the analysis check uses its window instead).
	ViolationRate float64 `json:"violation_rate"`
	// Dropped answers found the queue full; TooLarge ones exceeded
	// max_body; Unmatched ones answered a request the `from` document
	// has no operation for.
	Dropped    uint64           `json:"dropped"`
	TooLarge   uint64           `json:"too_large"`
	Unmatched  uint64           `json:"unmatched"`
	Operations []OperationStats `json:"operations"`
	// Samples are the last violating answers, newest first.
	Samples []Sample `json:"samples"`
}

// OperationStats are one operation's validation counts.
type OperationStats struct {
	Operation  string `json:"operation"`
	Validated  uint64 `json:"validated"`
	Violations uint64 `json:"violations"`
}

// view returns the results as the API shows them.
func (r *results) view() Validation {
	v := Validation{Dropped: r.dropped.Load(), TooLarge: r.tooLarge.Load(), Unmatched: r.unmatched.Load()}
	r.mu.Lock()
	v.Validated, v.Violations = r.validated, r.violations
	for op, o := range r.ops {
		v.Operations = append(v.Operations, OperationStats{Operation: op, Validated: o.validated, Violations: o.violations})
	}
	n := r.head
	if r.full {
		n = len(r.samples)
	}
	v.Samples = make([]Sample, 0, n)
	for i := 1; i <= n; i++ {
		v.Samples = append(v.Samples, r.samples[(r.head-i+len(r.samples))%len(r.samples)])
	}
	r.mu.Unlock()
	if v.Validated > 0 {
		v.ViolationRate = float64(v.Violations) / float64(v.Validated)
	}
	sort.Slice(v.Operations, func(i, j int) bool { return v.Operations[i].Operation < v.Operations[j].Operation })
	if v.Operations == nil {
		v.Operations = []OperationStats{}
	}
	return v
}

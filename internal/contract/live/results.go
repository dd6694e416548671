package live

import (
	"sort"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/pipeline"
	"github.com/turnout-gw/turnout/internal/rollout"
)

// results are one service's validation outcomes: the lane of its copies
// in the pipeline (dropped), tooLarge counted on the request path and by
// workers, unmatched by workers, and the tally, violation window and
// samples under the Results' lock.
type results struct {
	pipeline.Lane[*tap]
	tooLarge, unmatched atomic.Uint64
	*pipeline.Results[Sample, tally]
}

// tally counts a service's validated answers.
type tally struct {
	validated, violations uint64
	ops                   map[string]*opStats
}

// opStats are one operation's outcomes.
type opStats struct{ validated, violations uint64 }

// Sample is an answer that broke the contract it was validated against.
type Sample struct {
	At      time.Time `json:"at"`
	Version string    `json:"version"`
	// ServedBy and Upstream say who answered: the version whose upstream
	// serves an adapted version (omitted for one with its own upstream),
	// and that upstream.
	ServedBy   string      `json:"served_by,omitempty"`
	Upstream   string      `json:"upstream,omitempty"`
	Operation  string      `json:"operation"`
	Request    string      `json:"request"` // method and upstream path with query
	Status     int         `json:"status"`
	Violations []Violation `json:"violations"`
}

func newResults(win time.Duration, samples int) *results {
	return &results{Results: pipeline.NewResults[Sample](win, samples, tally{ops: map[string]*opStats{}})}
}

// record counts one validated answer of op, violating when smp is set.
// The operations are those of the `from` document, so the map is bounded
// by it.
func (r *results) record(now time.Time, op string, smp *Sample) {
	r.Record(now, smp != nil, func(t *tally, ring *pipeline.Ring[Sample]) {
		o := t.ops[op]
		if o == nil {
			o = &opStats{}
			t.ops[op] = o
		}
		t.validated++
		o.validated++
		if smp == nil {
			return
		}
		t.violations++
		o.violations++
		ring.Push(*smp)
	})
}

// Validation is the runtime part of GET /api/v1/contracts/{service}: what
// validating one version's answers against a document found — the
// rollout's `to` against `from`'s document (or its own, when `to` is an
// adapted version with one), an adapted version against its own.
type Validation struct {
	From, To string `json:"-"`
	// Version is the version whose answers are validated, Document the
	// version whose document they are validated against. ServedBy is the
	// version whose upstream serves an adapted version ("" for one with
	// its own), Upstream the upstream that answers. Gates says whether
	// the rollout analysis (max_contract_violation_rate) reads these
	// results: the rollout's `to`.
	Version         string  `json:"version"`
	Document        string  `json:"document"`
	ServedBy        string  `json:"served_by,omitempty"`
	Upstream        string  `json:"upstream"`
	Gates           bool    `json:"gates"`
	ValidatePercent float64 `json:"validate_percent"`
	Validated       uint64  `json:"validated"`
	Violations      uint64  `json:"violations"`
	// ViolationRate is Violations / Validated since the service's results
	// started (the analysis check uses its window instead).
	ViolationRate float64 `json:"violation_rate"`
	// Dropped answers found the queue full; TooLarge ones exceeded
	// max_body; Unmatched ones answered a request the document has no
	// operation for.
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
	v := Validation{Dropped: r.Dropped(), TooLarge: r.tooLarge.Load(), Unmatched: r.unmatched.Load()}
	r.With(func(t *tally, ring *pipeline.Ring[Sample]) {
		v.Validated, v.Violations = t.validated, t.violations
		for op, o := range t.ops {
			v.Operations = append(v.Operations, OperationStats{Operation: op, Validated: o.validated, Violations: o.violations})
		}
		v.Samples = ring.List(ring.Cap())
	})
	if v.Validated > 0 {
		v.ViolationRate = float64(v.Violations) / float64(v.Validated)
	}
	sort.Slice(v.Operations, func(i, j int) bool { return v.Operations[i].Operation < v.Operations[j].Operation })
	if v.Operations == nil {
		v.Operations = []OperationStats{}
	}
	return v
}

// GateName is the name of the analysis check Gate adds.
const GateName = "contract_violation_rate"

// Gate returns the rollout analysis check max_contract_violation_rate: the
// share of a service's validated `to` answers that broke the contract
// they are validated against (`from`'s document, or `to`'s own when `to`
// is an adapted version with one) over the analysis window. Fewer
// validated answers than analysis.min_requests give no verdict (the
// rollout waits for traffic).
func (m *Manager) Gate() rollout.Gate {
	return pipeline.Gate[Sample, tally]{
		Check: GateName,
		Limit: func(a *config.Analysis) *float64 { return a.MaxContractViolationRate },
		Results: func(service string) *pipeline.Results[Sample, tally] {
			if s := m.lookup(service); s != nil && s.gate != nil {
				return s.gate.res.Results
			}
			return nil
		},
		Now: func() time.Time { return m.o.Now() },
	}
}

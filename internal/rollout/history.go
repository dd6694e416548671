package rollout

import (
	"math"
	"time"
)

// HistoryLen bounds how many evaluations a rollout keeps (Engine.Analyses).
const HistoryLen = 100

// Decisions an evaluation led to, as Evaluation.Decision names them.
const (
	DecisionStep     = "step"     // passed, advanced to the next step
	DecisionPromote  = "promote"  // passed the last step: promoted
	DecisionHold     = "hold"     // passed, the step has not lasted step_interval (or a guard holds it)
	DecisionWait     = "wait"     // too little data (or inconclusive): the step holds
	DecisionRollback = "rollback" // failed: rolled back to weight 0
	DecisionPause    = "pause"    // failed with on_failure: pause
	DecisionNone     = "none"     // not progressing (paused): analysed, not acted on
)

// Counts are a version's request and error counts and p95 over an
// evaluation's window: the compact part of stats.Totals a history keeps.
type Counts struct {
	Requests int64         `json:"requests"`
	Errors   int64         `json:"errors"`
	P95      time.Duration `json:"p95_ns"`
}

// Evaluation is one analysis evaluation as a rollout's history keeps it:
// what was measured, against which thresholds, the verdict and the
// decision taken. Consecutive waiting evaluations with the same decision
// at the same weight are one Evaluation: At is the first, Last the latest,
// Count how many, and the values and reason are the latest's.
type Evaluation struct {
	At          time.Time     `json:"at"`
	Last        time.Time     `json:"last"`
	Count       int           `json:"count"`
	Window      time.Duration `json:"window_ns"`
	Weight      float64       `json:"weight"` // the weight the evaluation judged
	NewWeight   float64       `json:"new_weight"`
	Result      string        `json:"result"`
	Decision    string        `json:"decision"`
	Reason      string        `json:"reason"`
	MinRequests int           `json:"min_requests"`
	Checks      []Check       `json:"checks"`
	To          Counts        `json:"to"`
	From        Counts        `json:"from"`
}

// history is a ring of a rollout's last HistoryLen evaluations, grown as
// they come (a rollout never analysed has none). It belongs to its
// tracked rollout, which hands it to its published Status for reads; its
// contents are guarded by Engine.histMu.
type history struct {
	recs []record
	next int // where the next one goes once recs is full
}

// record is an Evaluation as a history stores it: times as Unix
// nanoseconds and result and decision as indexes, about 140 bytes.
type record struct {
	at, last          int64
	count, minReqs    int32
	result, decision  uint8
	window            time.Duration
	weight, newWeight float64
	reason            string
	checks            []Check
	to, from          Counts
}

// Result and decision names by a record's index.
var (
	results   = []string{ResultPass, ResultFail, ResultWaiting}
	decisions = []string{DecisionStep, DecisionPromote, DecisionHold, DecisionWait, DecisionRollback, DecisionPause, DecisionNone}
)

// indexOf is name's index in names (0 when absent).
func indexOf(names []string, name string) uint8 {
	for i, n := range names {
		if n == name {
			return uint8(i)
		}
	}
	return 0
}

func toRecord(ev Evaluation) record {
	return record{at: ev.At.UnixNano(), last: ev.Last.UnixNano(), count: int32(min(ev.Count, math.MaxInt32)), minReqs: int32(min(ev.MinRequests, math.MaxInt32)),
		result: indexOf(results, ev.Result), decision: indexOf(decisions, ev.Decision), window: ev.Window,
		weight: ev.Weight, newWeight: ev.NewWeight, reason: ev.Reason, checks: ev.Checks, to: ev.To, from: ev.From}
}

func (r *record) evaluation() Evaluation {
	return Evaluation{At: time.Unix(0, r.at).UTC(), Last: time.Unix(0, r.last).UTC(), Count: int(r.count), Window: r.window,
		Weight: r.weight, NewWeight: r.newWeight, Result: results[r.result], Decision: decisions[r.decision], Reason: r.reason,
		MinRequests: int(r.minReqs), Checks: r.checks, To: r.to, From: r.from}
}

// add records one evaluation, collapsing it into the newest when both
// waited with the same decision at the same weight over the same window.
func (h *history) add(ev Evaluation) {
	r := toRecord(ev)
	if n := h.newest(); n != nil && n.result == r.result && results[r.result] == ResultWaiting &&
		n.decision == r.decision && n.weight == r.weight && n.window == r.window {
		r.at, r.count = n.at, n.count+r.count
		*n = r
		return
	}
	if len(h.recs) < HistoryLen {
		h.recs = append(h.recs, r)
		return
	}
	h.recs[h.next] = r
	h.next = (h.next + 1) % HistoryLen
}

// newest is the last evaluation recorded, or nil.
func (h *history) newest() *record {
	switch {
	case len(h.recs) == 0:
		return nil
	case len(h.recs) < HistoryLen:
		return &h.recs[len(h.recs)-1]
	}
	return &h.recs[(h.next+HistoryLen-1)%HistoryLen]
}

// list returns up to limit evaluations, newest first (all when limit ≤ 0).
func (h *history) list(limit int) []Evaluation {
	n := len(h.recs)
	if limit > 0 && limit < n {
		n = limit
	}
	out := make([]Evaluation, 0, n)
	for i := range n {
		idx := len(h.recs) - 1 - i
		if len(h.recs) == HistoryLen {
			idx = (h.next + HistoryLen - 1 - i) % HistoryLen
		}
		out = append(out, h.recs[idx].evaluation())
	}
	return out
}

// evaluation is the record of a, judged at weight and leading to decision
// and newWeight.
func evaluation(a *Analysis, weight, newWeight float64, decision string) Evaluation {
	return Evaluation{At: a.At, Last: a.At, Count: 1, Window: a.Window, Weight: weight, NewWeight: newWeight,
		Result: a.Result, Decision: decision, Reason: a.Reason, MinRequests: a.MinRequests, Checks: a.Checks,
		To:   Counts{Requests: a.To.Requests, Errors: a.To.Errors, P95: a.To.P95},
		From: Counts{Requests: a.From.Requests, Errors: a.From.Errors, P95: a.From.P95}}
}

// decision names what settle did after an analysis, from the state before
// (prev) and after (t.state).
func decision(a *Analysis, prevState string, prevWeight float64, t *tracked) string {
	switch {
	case prevState != Progressing:
		return DecisionNone
	case t.state.State == RolledBack:
		return DecisionRollback
	case t.state.State == Paused:
		return DecisionPause
	case t.state.State == Promoted:
		return DecisionPromote
	case t.state.Weight != prevWeight:
		return DecisionStep
	case a.Result == ResultPass:
		return DecisionHold
	}
	return DecisionWait
}

// Analyses returns service's last evaluations, newest first, at most
// limit (all kept when limit ≤ 0), or ErrNoRollout. Like Status it never
// waits for the engine's lock. They are this engine's own: in a fleet
// only the leader analyses, so a member that does not lead has none, or
// those from when it led.
func (e *Engine) Analyses(service string, limit int) ([]Evaluation, error) {
	st, err := e.Status(service)
	if err != nil {
		return nil, err
	}
	if st.hist == nil {
		return []Evaluation{}, nil
	}
	e.histMu.Lock()
	defer e.histMu.Unlock()
	return st.hist.list(limit), nil
}

// Analyzing reports whether this engine's loop runs now: always on a
// single Turnout, only on the leader in a fleet (whose evaluations are
// the ones that decide).
func (e *Engine) Analyzing() bool { return e.running.Load() > 0 }

// remember adds an evaluation to t's history; e.mu is held. A history
// made here reaches reads with the status published after it.
func (e *Engine) remember(t *tracked, ev Evaluation) {
	if t.hist == nil {
		t.hist = &history{}
	}
	e.histMu.Lock()
	defer e.histMu.Unlock()
	t.hist.add(ev)
}

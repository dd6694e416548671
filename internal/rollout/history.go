package rollout

import (
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
// they come (a rollout never analysed has none). The engine keeps one per
// analysed service in Engine.hist, guarded by Engine.histMu.
type history struct {
	evs  []Evaluation
	next int // where the next one goes once evs is full
}

// add records one evaluation, collapsing it into the newest when both
// waited with the same decision at the same weight.
func (h *history) add(ev Evaluation) {
	if n := h.newest(); n != nil && n.Result == ResultWaiting && ev.Result == ResultWaiting &&
		n.Decision == ev.Decision && n.Weight == ev.Weight && n.Window == ev.Window {
		at, count := n.At, n.Count
		*n = ev
		n.At, n.Count = at, count+1
		return
	}
	if len(h.evs) < HistoryLen {
		h.evs = append(h.evs, ev)
		return
	}
	h.evs[h.next] = ev
	h.next = (h.next + 1) % HistoryLen
}

// newest is the last evaluation recorded, or nil.
func (h *history) newest() *Evaluation {
	switch {
	case len(h.evs) == 0:
		return nil
	case len(h.evs) < HistoryLen:
		return &h.evs[len(h.evs)-1]
	}
	return &h.evs[(h.next+HistoryLen-1)%HistoryLen]
}

// list returns up to limit evaluations, newest first (all when limit ≤ 0).
func (h *history) list(limit int) []Evaluation {
	n := len(h.evs)
	if limit > 0 && limit < n {
		n = limit
	}
	out := make([]Evaluation, 0, n)
	for i := range n {
		idx := len(h.evs) - 1 - i
		if len(h.evs) == HistoryLen {
			idx = (h.next + HistoryLen - 1 - i) % HistoryLen
		}
		out = append(out, h.evs[idx])
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
	if _, err := e.Status(service); err != nil {
		return nil, err
	}
	e.histMu.Lock()
	defer e.histMu.Unlock()
	h := e.hist[service]
	if h == nil {
		return []Evaluation{}, nil
	}
	return h.list(limit), nil
}

// remember adds an evaluation to service's history; e.mu is held.
func (e *Engine) remember(service string, ev Evaluation) {
	e.histMu.Lock()
	defer e.histMu.Unlock()
	h := e.hist[service]
	if h == nil {
		if e.hist == nil {
			e.hist = map[string]*history{}
		}
		h = &history{}
		e.hist[service] = h
	}
	h.add(ev)
}

// pruneHistory forgets the histories of services no longer tracked; e.mu
// is held.
func (e *Engine) pruneHistory() {
	e.histMu.Lock()
	defer e.histMu.Unlock()
	for name := range e.hist {
		if e.ro[name] == nil {
			delete(e.hist, name)
		}
	}
}

package qnproxy

import (
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
)

// TargetStatus is what the gateway knows of one tcp:// target.
type TargetStatus struct {
	URL string `json:"url"`
	// Healthy is false after the last dial to the target failed.
	Healthy bool `json:"healthy"`
	// Ejected is true while the target is out of rotation: eject_after
	// consecutive dials failed, and eject_for has not passed since.
	Ejected bool `json:"ejected"`
}

// targetHealth is the passive health of the tcp:// targets of every QN
// upstream, keyed by (upstream, target) so that two upstreams naming one
// address are tracked apart. It is safe for concurrent use.
type targetHealth struct {
	now func() time.Time

	mu sync.Mutex
	m  map[targetKey]*targetState
}

type targetKey struct{ upstream, target string }

type targetState struct {
	fails        int // consecutive failed dials
	ejectedUntil time.Time
}

func newTargetHealth(now func() time.Time) *targetHealth {
	return &targetHealth{now: now, m: map[targetKey]*targetState{}}
}

// order returns u's targets in dialling order from start, round robin, the
// targets in rotation first and the ejected ones after them: when every
// target is ejected they are all still tried rather than refusing the
// device.
func (h *targetHealth) order(upstream string, u *config.Upstream, start int) []string {
	n := len(u.Targets)
	out := make([]string, 0, n)
	var ejected []string
	now := h.now()
	h.mu.Lock()
	for i := range n {
		t := u.Targets[(start+i)%n]
		if st := h.m[targetKey{upstream, t}]; st != nil && now.Before(st.ejectedUntil) {
			ejected = append(ejected, t)
			continue
		}
		out = append(out, t)
	}
	h.mu.Unlock()
	return append(out, ejected...)
}

// result records one dial of target. After u.EjectAfter consecutive
// failures (0 turns ejection off) the target is ejected for u.EjectFor.
func (h *targetHealth) result(upstream string, u *config.Upstream, target string, failed bool) {
	k := targetKey{upstream, target}
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.m[k]
	if !failed {
		if st != nil {
			delete(h.m, k)
		}
		return
	}
	if st == nil {
		st = &targetState{}
		h.m[k] = st
	}
	st.fails++
	if u.EjectAfter > 0 && st.fails >= u.EjectAfter {
		st.ejectedUntil = h.now().Add(u.EjectFor.D())
	}
}

// status returns the state of each of u's targets, in configuration order.
func (h *targetHealth) status(upstream string, u *config.Upstream) []TargetStatus {
	now := h.now()
	out := make([]TargetStatus, 0, len(u.Targets))
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range u.Targets {
		ts := TargetStatus{URL: t, Healthy: true}
		if st := h.m[targetKey{upstream, t}]; st != nil {
			ts.Healthy = false
			ts.Ejected = now.Before(st.ejectedUntil)
		}
		out = append(out, ts)
	}
	return out
}

// forget drops the state of upstreams the configuration no longer has, or
// whose targets changed.
func (h *targetHealth) forget(cfg *config.Config) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range h.m {
		u := cfg.Upstreams[k.upstream]
		if u == nil || !hasTarget(u, k.target) {
			delete(h.m, k)
		}
	}
}

func hasTarget(u *config.Upstream, t string) bool {
	for _, x := range u.Targets {
		if x == t {
			return true
		}
	}
	return false
}

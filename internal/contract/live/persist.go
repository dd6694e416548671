package live

import (
	"encoding/json"

	"github.com/turnout-gw/turnout/internal/store"
)

// UsageBucket is the store bucket of each service's deprecated usage (key:
// the service name), so "who still calls what" survives restarts.
const UsageBucket = "contract.deprecations"

// persistedUsage is the stored form of a service's usage.
type persistedUsage struct {
	Uses     []Use  `json:"uses"`
	Overflow uint64 `json:"overflow_uses"`
}

// loadUsage reads a service's stored usage into s.use.
func (m *Manager) loadUsage(s *service) {
	if m.o.Store == nil {
		return
	}
	b, ok, err := m.o.Store.GetBlob(UsageBucket, s.name)
	if err != nil || !ok {
		if err != nil {
			m.o.Log.Warn("contract: reading stored deprecated usage", "service", s.name, "error", err)
		}
		return
	}
	var p persistedUsage
	if err := json.Unmarshal(b, &p); err != nil {
		m.o.Log.Warn("contract: stored deprecated usage unreadable; starting afresh", "service", s.name, "error", err)
		return
	}
	s.use.restore(p)
}

// flushUsage writes a service's usage to the store when it changed. A list
// too large for one record keeps the most recently seen rows that fit.
func (m *Manager) flushUsage(s *service) {
	if m.o.Store == nil {
		return
	}
	p, changed := s.use.snapshot()
	if !changed {
		return
	}
	b, err := json.Marshal(p)
	for err == nil && len(b) > store.MaxBlobSize && len(p.Uses) > 0 {
		p.Uses = p.Uses[:len(p.Uses)/2]
		b, err = json.Marshal(p)
	}
	if err == nil {
		err = m.o.Store.PutBlob(UsageBucket, s.name, b)
	}
	if err != nil {
		m.o.Log.Warn("contract: storing deprecated usage", "service", s.name, "error", err)
	}
}

// flushAll writes every service's changed usage; the pipeline runs it
// every second and at Close.
func (m *Manager) flushAll() {
	for _, s := range *m.services.Load() {
		m.flushUsage(s)
	}
}

// snapshot returns the usage as stored and whether it changed since the
// last snapshot.
func (u *usage) snapshot() (persistedUsage, bool) {
	u.mu.Lock()
	changed := u.dirty
	u.dirty = false
	u.mu.Unlock()
	if !changed {
		return persistedUsage{}, false
	}
	uses, _, overflow := u.list()
	return persistedUsage{Uses: uses, Overflow: overflow}, true
}

// restore adds stored rows to the usage (the clients they name count
// towards the cap).
func (u *usage) restore(p persistedUsage) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.overflow += p.Overflow
	for _, r := range p.Uses {
		if r.Client != OtherClient {
			u.clients[r.Client] = struct{}{}
		}
		k := useKey{r.Version, r.Operation, r.Parameter, r.Client}
		if st := u.entries[k]; st != nil {
			st.count += r.Count
			continue
		}
		u.entries[k] = &useStats{count: r.Count, first: r.FirstSeen, last: r.LastSeen}
	}
}

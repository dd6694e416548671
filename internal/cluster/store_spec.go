package cluster

import "fmt"

// specBasis is the rollout spec this member is configured with for a
// service, and the fleet's generation of the service when it was.
type specBasis struct {
	hash string
	gen  int64
}

// Configured tells s that this member's configuration has the rollout
// spec hash for service (the engine calls it at each load): the fleet's
// generation of the service then is what a later write of that spec is
// judged by. A member configured with a spec before the fleet moved to
// another (a leader that has not reloaded yet) may not write it over the
// newer one; a member configured with it after (a deliberate revert)
// may.
func (s *Store) Configured(service, hash string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.basis[service]; ok && b.hash == hash {
		return
	}
	s.basis[service] = specBasis{hash: hash, gen: s.states[service].Generation}
}

// Stale says why this member may not drive service's rollout (the fleet
// runs a spec newer than this member's configuration), or "". It only
// reads: part of a rollout.WithStepGuard.
func (s *Store) Stale(service string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.basis[service]
	if !ok {
		return ""
	}
	cur, known := s.states[service]
	return s.staleLocked(service, b.hash, cur, known)
}

// staleLocked is why a write of spec hash for service over cur would
// replace a newer spec, or ""; s.mu is held.
func (s *Store) staleLocked(service, hash string, cur Versioned, known bool) string {
	b, ok := s.basis[service]
	if !known || cur.SpecHash == hash || !ok || b.hash != hash || cur.Generation <= b.gen {
		return ""
	}
	return fmt.Sprintf("the fleet runs rollout spec %s (generation %d), started after this member was configured with %s; deploy that spec here, or restart this member to make its spec the fleet's",
		cur.SpecHash, cur.Generation, hash)
}

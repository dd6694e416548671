package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/turnout-gw/turnout/internal/store"
)

// Store is the store.Store a member's rollout engine writes through: the
// fleet's Backend holds the rollout states and the event log, and the
// member's own store (local, the bbolt file at state:) is a cache of the
// last states it saw, read when the backend cannot be.
//
// Reads of rollout states answer from what this member last saw (Load, its
// own writes, Observe). A write expects the revision this member last saw,
// goes as leader when the engine decided it (weight source engine), and
// carries the batch's events of the same service in the same transaction;
// a write the backend does not take fails with an error wrapping both
// store.ErrNotWritten and the backend's reason (ErrConflict, ErrNotLeader,
// ErrUnavailable), so the engine keeps serving what it had. Every event
// names the member it was recorded through (field "member"), besides its
// actor. Blobs stay local. Store is safe for concurrent use; it owns local (Close closes it),
// not the backend.
type Store struct {
	b      Backend
	local  store.Store
	member string
	log    *slog.Logger

	notWritten atomic.Uint64

	mu     sync.Mutex
	states map[string]Versioned // the last state seen of each service
	adopt  func(store.RolloutState)
}

var _ store.Store = (*Store)(nil)

// NewStore is a Store over b with local as its cache, for the member
// named member.
func NewStore(b Backend, local store.Store, member string, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{b: b, local: local, member: member, log: log, states: map[string]Versioned{}}
}

// stamp returns events with this member's name in their fields.
func (s *Store) stamp(events []store.Event) []store.Event {
	out := make([]store.Event, len(events))
	for i, e := range events {
		f := make(map[string]any, len(e.Fields)+1)
		if len(e.Fields) == 0 && len(e.RawFields) > 0 {
			_ = json.Unmarshal(e.RawFields, &f) // a JSON object: the engine's encoding
		} else {
			maps.Copy(f, e.Fields)
		}
		f["member"] = s.member
		e.Fields, e.RawFields = f, nil
		out[i] = e
	}
	return out
}

// OnAdopt sets what Observe and Load call for each state written by
// another member (the engine's Adopt). It is set once, before Observe.
func (s *Store) OnAdopt(f func(store.RolloutState)) {
	s.mu.Lock()
	s.adopt = f
	s.mu.Unlock()
}

// Load reads every state from the backend (adopting the ones that
// changed, as Observe does) and returns the revision read, for Watch. When
// the backend cannot be read it fills what is empty from the local cache
// and returns the backend's error: the member serves its last known state.
func (s *Store) Load(ctx context.Context) (int64, error) {
	list, rev, err := s.b.Rollouts(ctx)
	if err != nil {
		cached, cerr := s.local.Rollouts()
		if cerr != nil {
			return 0, errors.Join(err, cerr)
		}
		s.mu.Lock()
		for _, st := range cached {
			if _, ok := s.states[st.Service]; !ok {
				s.states[st.Service] = Versioned{RolloutState: st} // revision unknown: writes conflict until Load succeeds
			}
		}
		s.mu.Unlock()
		return 0, err
	}
	for _, v := range list {
		s.Observe(v)
	}
	return rev, nil
}

// Observe takes v, a state the backend holds (a watch's change), unless
// this member has seen a later one: it is cached, and adopted when it is
// not what this member last saw. A nil-state deletion is a Forget.
func (s *Store) Observe(v Versioned) {
	s.mu.Lock()
	cur, ok := s.states[v.Service]
	if ok && cur.Rev >= v.Rev && cur.Rev != 0 {
		s.mu.Unlock()
		return
	}
	s.states[v.Service] = v
	adopt := s.adopt
	s.mu.Unlock()
	if err := s.local.PutRollout(v.RolloutState); err != nil {
		s.log.Warn("cluster: caching rollout state", "service", v.Service, "err", err)
	}
	if adopt != nil {
		adopt(v.RolloutState)
	}
}

// Forget drops a service whose state the backend deleted.
func (s *Store) Forget(service string) {
	s.mu.Lock()
	delete(s.states, service)
	s.mu.Unlock()
}

// GetRollout returns the last state this member saw.
func (s *Store) GetRollout(service string) (store.RolloutState, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.states[service]
	return v.RolloutState, ok, nil
}

// Rollouts returns the last states this member saw, sorted by service.
func (s *Store) Rollouts() ([]store.RolloutState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]store.RolloutState, 0, len(s.states))
	for _, name := range slices.Sorted(maps.Keys(s.states)) {
		out = append(out, s.states[name].RolloutState)
	}
	return out, nil
}

// PutRollout writes one state, as Write does.
func (s *Store) PutRollout(st store.RolloutState) error {
	_, err := s.Write(store.Batch{Rollouts: []store.RolloutState{st}})
	return err
}

// DeleteRollout forgets a state here and in the cache; the fleet's state
// stays for the members that still configure the rollout.
func (s *Store) DeleteRollout(service string) error {
	s.Forget(service)
	return s.local.DeleteRollout(service)
}

// Append appends one event to the fleet's log.
func (s *Store) Append(e store.Event) (store.Event, error) {
	out, err := s.Write(store.Batch{Events: []store.Event{e}})
	if err != nil {
		return store.Event{}, err
	}
	return out[0], nil
}

// Write writes each state of b with the events of its service in one
// transaction each, then appends the other events; it returns the events
// as appended, and the failures joined (a failed state's events are not
// appended; the other writes are made). A state the engine decided, or of
// another rollout spec than the fleet's, is written only by the leader: a
// member with a half-deployed configuration does not restart the fleet's
// rollout.
func (s *Store) Write(b store.Batch) ([]store.Event, error) {
	ctx := context.Background() // the backend bounds every call
	rest := s.stamp(b.Events)
	var out []store.Event
	var errs []error
	for _, st := range b.Rollouts {
		var mine []store.Event
		mine, rest = split(rest, st.Service)
		s.mu.Lock()
		cur, known := s.states[st.Service]
		s.mu.Unlock()
		asLeader := st.WeightSource == store.SourceEngine || known && cur.SpecHash != st.SpecHash
		v, evs, err := s.b.PutRollout(ctx, Write{Rollout: st, Expect: cur.Rev, Events: mine, AsLeader: asLeader})
		if err != nil {
			s.notWritten.Add(1)
			errs = append(errs, fmt.Errorf("%w: %w", store.ErrNotWritten, err))
			continue
		}
		s.mu.Lock()
		if cur := s.states[st.Service]; cur.Rev < v.Rev {
			s.states[st.Service] = v
		}
		s.mu.Unlock()
		if err := s.local.PutRollout(v.RolloutState); err != nil {
			s.log.Warn("cluster: caching rollout state", "service", st.Service, "err", err)
		}
		out = append(out, evs...)
	}
	if len(rest) > 0 {
		evs, err := s.b.AppendEvents(ctx, rest...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", store.ErrNotWritten, err))
		}
		out = append(out, evs...)
	}
	return out, errors.Join(errs...)
}

// NotWritten counts the rollout writes the backend did not take.
func (s *Store) NotWritten() uint64 { return s.notWritten.Load() }

// split returns the events of service and the others, each in order.
func split(events []store.Event, service string) (mine, rest []store.Event) {
	for _, e := range events {
		if e.Service == service {
			mine = append(mine, e)
		} else {
			rest = append(rest, e)
		}
	}
	return mine, rest
}

// Events reads the fleet's log.
func (s *Store) Events(q store.EventQuery) ([]store.Event, error) {
	return s.b.Events(context.Background(), q)
}

// PutBlob, GetBlob and ListBlobs use the local store: blobs are this
// member's (contract usage, cached documents).
func (s *Store) PutBlob(bucket, key string, value []byte) error {
	return s.local.PutBlob(bucket, key, value)
}

// GetBlob reads a local blob.
func (s *Store) GetBlob(bucket, key string) ([]byte, bool, error) {
	return s.local.GetBlob(bucket, key)
}

// ListBlobs lists local blobs.
func (s *Store) ListBlobs(bucket string) (map[string][]byte, error) { return s.local.ListBlobs(bucket) }

// Close closes the local store.
func (s *Store) Close() error { return s.local.Close() }

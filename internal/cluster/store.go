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
// actor. Blobs of SharedBuckets go to the fleet, others stay local. Store is safe for concurrent use; it owns local (Close closes it),
// not the backend.
type Store struct {
	b      Backend
	local  store.Store
	member string
	log    *slog.Logger

	notWritten atomic.Uint64
	queue      *eventQueue // Append's events waiting for the backend

	mu     sync.Mutex
	states map[string]Versioned // the last state seen of each service
	basis  map[string]specBasis // this member's configured spec of each service
	adopt  func(store.RolloutState)
}

var _ store.Store = (*Store)(nil)

// NewStore is a Store over b with local as its cache, for the member
// named member.
func NewStore(b Backend, local store.Store, member string, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{b: b, local: local, member: member, log: log, states: map[string]Versioned{}, basis: map[string]specBasis{},
		queue: newEventQueue(b, log.Warn)}
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
	// Read after the rollouts: a watch from rev then misses no blob
	// written since (it may deliver one again, which is harmless).
	if err := s.loadBlobs(ctx); err != nil {
		return 0, err
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

// Write writes the states of b, each with the events of its service, in
// as few transactions as etcd's bound on their size allows (MaxTxnOps:
// a load of 1,000 rollouts is about 16), then appends the other events; it
// returns the events as appended, and the failures joined (a failed
// state's events are not appended; the other writes are made). A
// transaction one of whose revisions moved is written again one state at
// a time, so that only the states another member changed are refused.
// Once the backend did not answer, the rest of b is not tried: a reload
// while etcd is down waits at most once, not once per rollout. A state the
// engine decided, or of another rollout spec than the fleet's, is written
// only by the leader: a member with a half-deployed configuration does
// not restart the fleet's rollout.
func (s *Store) Write(b store.Batch) ([]store.Event, error) {
	ctx := context.Background() // the backend bounds every call
	stamped := s.stamp(b.Events)
	byService := make(map[string][]store.Event, len(b.Rollouts))
	for _, st := range b.Rollouts {
		byService[st.Service] = nil
	}
	var rest []store.Event
	for _, e := range stamped {
		if _, ok := byService[e.Service]; ok {
			byService[e.Service] = append(byService[e.Service], e)
		} else {
			rest = append(rest, e)
		}
	}
	ws := make([]Write, 0, len(b.Rollouts))
	var errs []error
	s.mu.Lock()
	for _, st := range b.Rollouts {
		cur, known := s.states[st.Service]
		if why := s.staleLocked(st.Service, st.SpecHash, cur, known); why != "" {
			s.notWritten.Add(1)
			errs = append(errs, fmt.Errorf("%w: write rollout %s: %w: %s", store.ErrNotWritten, st.Service, ErrStaleSpec, why))
			continue
		}
		st.Generation = cur.Generation
		if !known || cur.SpecHash != st.SpecHash {
			st.Generation++
		}
		asLeader := st.WeightSource == store.SourceEngine || known && cur.SpecHash != st.SpecHash
		ws = append(ws, Write{Rollout: st, Expect: cur.Rev, Events: byService[st.Service], AsLeader: asLeader})
		byService[st.Service] = nil // a second state of the service goes without them
	}
	s.mu.Unlock()
	out, werrs := s.writeAll(ctx, ws)
	errs = append(errs, werrs...)
	if len(rest) > 0 {
		evs, err := s.b.AppendEvents(ctx, rest...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", store.ErrNotWritten, err))
		}
		out = append(out, evs...)
	}
	if len(out) > 0 {
		// The local log, read while the backend is not: what this member
		// recorded.
		if _, err := s.local.Write(store.Batch{Events: out}); err != nil {
			s.log.Warn("cluster: caching events", "events", len(out), "err", err)
		}
	}
	return out, errors.Join(errs...)
}

// writeAll writes ws in transactions of at most MaxTxnOps compares and
// operations; see Write.
func (s *Store) writeAll(ctx context.Context, ws []Write) ([]store.Event, []error) {
	var out []store.Event
	var errs []error
	var down error // the backend's ErrUnavailable, once seen
	refuse := func(w Write, err error) {
		s.notWritten.Add(1)
		errs = append(errs, fmt.Errorf("%w: write rollout %s: %w", store.ErrNotWritten, w.Rollout.Service, err))
	}
	for len(ws) > 0 {
		n := chunk(ws)
		part := ws[:n]
		ws = ws[n:]
		if down != nil {
			for _, w := range part {
				refuse(w, down)
			}
			continue
		}
		if n > 1 {
			vs, evs, ok, err := s.b.PutRollouts(ctx, part)
			if err == nil && ok {
				for _, v := range vs {
					s.took(v)
				}
				out = append(out, evs...)
				continue
			}
			if errors.Is(err, ErrUnavailable) {
				down = err
				for _, w := range part {
					refuse(w, err)
				}
				continue
			}
		}
		for _, w := range part { // one at a time: which were refused, and why
			if down != nil {
				refuse(w, down)
				continue
			}
			v, evs, err := s.b.PutRollout(ctx, w)
			if err != nil {
				if errors.Is(err, ErrUnavailable) {
					down = err
				}
				refuse(w, err)
				continue
			}
			s.took(v)
			out = append(out, evs...)
		}
	}
	return out, errs
}

// chunk is how many writes of ws, at least one, fit one transaction: at
// most MaxTxnOps compares and operations, each service at most once.
func chunk(ws []Write) int {
	cmps, ops := txnOverhead, txnOverhead
	seen := make(map[string]bool, min(len(ws), MaxTxnOps))
	for i, w := range ws {
		c, o := TxnCost(w)
		if i > 0 && (cmps+c > MaxTxnOps || ops+o > MaxTxnOps || seen[w.Rollout.Service]) {
			return i
		}
		cmps, ops = cmps+c, ops+o
		seen[w.Rollout.Service] = true
	}
	return len(ws)
}

// took records v, a state this member wrote, here and in the cache.
func (s *Store) took(v Versioned) {
	s.mu.Lock()
	if cur := s.states[v.Service]; cur.Rev < v.Rev {
		s.states[v.Service] = v
	}
	s.mu.Unlock()
	if err := s.local.PutRollout(v.RolloutState); err != nil {
		s.log.Warn("cluster: caching rollout state", "service", v.Service, "err", err)
	}
}

// NotWritten counts the rollout writes the backend did not take.
func (s *Store) NotWritten() uint64 { return s.notWritten.Load() }

// PutBlob writes a blob of a shared bucket (SharedBuckets) to the fleet,
// then to the local cache; other buckets are this member's (contract
// usage, cached documents) and stay local. A shared blob the backend does
// not take is not cached either: the caller tries again.
func (s *Store) PutBlob(bucket, key string, value []byte) error {
	if SharedBuckets[bucket] {
		if err := s.b.PutBlob(context.Background(), bucket, key, value); err != nil {
			return fmt.Errorf("%w: %w", store.ErrNotWritten, err)
		}
	}
	return s.local.PutBlob(bucket, key, value)
}

// GetBlob reads a blob from the local store (for a shared bucket, the
// cache of the fleet's, kept by Load and ObserveBlob).
func (s *Store) GetBlob(bucket, key string) ([]byte, bool, error) {
	return s.local.GetBlob(bucket, key)
}

// ListBlobs lists a bucket's blobs from the local store (for a shared
// bucket, the cache of the fleet's).
func (s *Store) ListBlobs(bucket string) (map[string][]byte, error) { return s.local.ListBlobs(bucket) }

// ObserveBlob caches a shared blob another member wrote (a watch's
// change); a deletion (nil value) keeps the cached one, as nothing
// deletes shared blobs.
func (s *Store) ObserveBlob(bucket, key string, value []byte) {
	if !SharedBuckets[bucket] || value == nil {
		return
	}
	if err := s.local.PutBlob(bucket, key, value); err != nil {
		s.log.Warn("cluster: caching shared blob", "bucket", bucket, "key", key, "err", err)
	}
}

// loadBlobs reads every shared bucket from the backend into the cache.
func (s *Store) loadBlobs(ctx context.Context) error {
	for bucket := range SharedBuckets {
		blobs, err := s.b.Blobs(ctx, bucket)
		if err != nil {
			return err
		}
		for k, v := range blobs {
			s.ObserveBlob(bucket, k, v)
		}
	}
	return nil
}

// Close stops appending queued events and closes the local store.
func (s *Store) Close() error {
	s.queue.close()
	return s.local.Close()
}

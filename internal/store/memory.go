package store

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// memStore is the in-memory Store selected by state: memory. It keeps the
// same encoded records as the bbolt store, so callers see the same
// semantics (JSON round trips, copies, validation, pruning) without a file.
type memStore struct {
	o options

	mu       sync.RWMutex
	closed   bool
	rollouts map[string][]byte
	events   []memEvent // ascending Seq, at most o.maxEvents
	seq      uint64     // last assigned Seq
	blobs    map[string]map[string][]byte
}

// memEvent is a stored event: its service and JSON packed as the bbolt
// store packs them (packEvent), so that it holds no string of the caller's.
type memEvent struct {
	seq uint64
	rec []byte
}

func newMemory(o options) *memStore {
	return &memStore{o: o, rollouts: map[string][]byte{}, blobs: map[string]map[string][]byte{}}
}

func memErr(op string, err error) error {
	return fmt.Errorf("state store %s: %s: %w", MemoryPath, op, err)
}

// rlock takes the read lock unless the store is closed.
func (m *memStore) rlock(op string) error {
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return memErr(op, ErrClosed)
	}
	return nil
}

func (m *memStore) lock(op string) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return memErr(op, ErrClosed)
	}
	return nil
}

func (m *memStore) GetRollout(service string) (RolloutState, bool, error) {
	if err := validateService(service); err != nil {
		return RolloutState{}, false, memErr("get rollout", err)
	}
	if err := m.rlock("get rollout"); err != nil {
		return RolloutState{}, false, err
	}
	data, ok := m.rollouts[service]
	m.mu.RUnlock()
	if !ok {
		return RolloutState{}, false, nil
	}
	st, err := decodeRollout(service, data)
	if err != nil {
		return RolloutState{}, false, memErr("get rollout", err)
	}
	return st, true, nil
}

func (m *memStore) PutRollout(st RolloutState) error {
	if st.UpdatedAt.IsZero() {
		st.UpdatedAt = m.o.clock()
	}
	data, err := encodeRolloutChecked(st)
	if err != nil {
		return memErr("put rollout", err)
	}
	if err := m.lock("put rollout"); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.putLocked(st.Service, data)
	return nil
}

// putLocked stores a rollout's record; m.mu must be held. The key is a
// copy of service: a piece of a configuration would keep all of it alive
// as long as the rollout is stored.
func (m *memStore) putLocked(service string, data []byte) {
	m.rollouts[strings.Clone(service)] = data
}

func (m *memStore) DeleteRollout(service string) error {
	if err := validateService(service); err != nil {
		return memErr("delete rollout", err)
	}
	if err := m.lock("delete rollout"); err != nil {
		return err
	}
	defer m.mu.Unlock()
	delete(m.rollouts, service)
	return nil
}

func (m *memStore) Rollouts() ([]RolloutState, error) {
	if err := m.rlock("list rollouts"); err != nil {
		return nil, err
	}
	services := make([]string, 0, len(m.rollouts))
	for svc := range m.rollouts {
		services = append(services, svc)
	}
	sort.Strings(services)
	out := make([]RolloutState, 0, len(services))
	var err error
	for _, svc := range services {
		var st RolloutState
		if st, err = decodeRollout(svc, m.rollouts[svc]); err != nil {
			break
		}
		out = append(out, st)
	}
	m.mu.RUnlock()
	if err != nil {
		return nil, memErr("list rollouts", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func (m *memStore) Append(e Event) (Event, error) {
	if e.At.IsZero() {
		e.At = m.o.clock()
	}
	js, err := encodeEventJSON(e)
	if err != nil {
		return Event{}, memErr("append event", err)
	}
	if err := m.lock("append event"); err != nil {
		return Event{}, err
	}
	defer m.mu.Unlock()
	m.seq++
	e.Seq = m.seq
	m.appendLocked(memEvent{seq: e.Seq, rec: packEvent(e.Service, js)})
	return e, nil
}

// appendLocked adds ev and prunes the oldest events beyond the maximum;
// m.mu must be held.
func (m *memStore) appendLocked(ev memEvent) {
	m.events = append(m.events, ev)
	if n := len(m.events) - m.o.maxEvents; n > 0 {
		clear(m.events[:n]) // drop references for the garbage collector
		m.events = m.events[n:]
	}
}

func (m *memStore) Events(q EventQuery) ([]Event, error) {
	limit, err := eventLimit(q.Limit)
	if err != nil {
		return nil, memErr("list events", err)
	}
	if err := m.rlock("list events"); err != nil {
		return nil, err
	}
	floor := eventFloor(m.seq, m.o.maxEvents, q.AfterSeq)
	type pick struct {
		seq uint64
		js  []byte
	}
	var picked []pick
	for i := len(m.events) - 1; i >= 0 && len(picked) < limit; i-- {
		ev := m.events[i]
		if ev.seq <= floor {
			break
		}
		svc, js, uerr := unpackEvent(ev.seq, ev.rec)
		if uerr != nil {
			err = uerr
			break
		}
		if q.Service == "" || string(svc) == q.Service {
			picked = append(picked, pick{ev.seq, js})
		}
	}
	m.mu.RUnlock()
	if err != nil {
		return nil, memErr("list events", err)
	}
	var out []Event
	for _, ev := range slices.Backward(picked) {
		e, err := decodeEventJSON(ev.seq, ev.js)
		if err != nil {
			return nil, memErr("list events", err)
		}
		out = append(out, e)
	}
	return out, nil
}

func (m *memStore) PutBlob(bucket, key string, value []byte) error {
	if err := validateBlobValue(bucket, key, value); err != nil {
		return memErr("put blob", err)
	}
	if err := m.lock("put blob"); err != nil {
		return err
	}
	defer m.mu.Unlock()
	b := m.blobs[bucket]
	if b == nil {
		b = map[string][]byte{}
		m.blobs[bucket] = b
	}
	b[key] = append([]byte{}, value...)
	return nil
}

func (m *memStore) GetBlob(bucket, key string) ([]byte, bool, error) {
	if err := validateBlob(bucket, key); err != nil {
		return nil, false, memErr("get blob", err)
	}
	if err := m.rlock("get blob"); err != nil {
		return nil, false, err
	}
	defer m.mu.RUnlock()
	v, ok := m.blobs[bucket][key]
	if !ok {
		return nil, false, nil
	}
	return append([]byte{}, v...), true, nil
}

func (m *memStore) ListBlobs(bucket string) (map[string][]byte, error) {
	if err := validateBlobBucket(bucket); err != nil {
		return nil, memErr("list blobs", err)
	}
	if err := m.rlock("list blobs"); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	out := make(map[string][]byte, len(m.blobs[bucket]))
	for k, v := range m.blobs[bucket] {
		out[k] = append([]byte{}, v...)
	}
	return out, nil
}

// Close discards the contents; later calls fail with ErrClosed. It is idempotent.
func (m *memStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.rollouts, m.events, m.blobs = nil, nil, nil
	return nil
}

package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Batch is a set of writes applied together by Store.Write: every rollout
// state is put, then every event appended, in order.
type Batch struct {
	Rollouts []RolloutState
	Events   []Event
}

// Len is the number of writes in b.
func (b *Batch) Len() int { return len(b.Rollouts) + len(b.Events) }

// encoded is a Batch's records, encoded and checked before any lock is
// taken, so that a bad record fails the batch before anything is written.
type encoded struct {
	rollouts [][]byte
	events   [][]byte // the events as packEvent packs them, slices of one buffer
	at       []Event  // the events with At set, in order
}

// Sizes of encoded records, to size the buffers of a batch.
const (
	rolloutSize = 384
	eventSize   = 256
)

func encodeBatch(b Batch, clock func() time.Time) (encoded, error) {
	enc := encoded{rollouts: make([][]byte, len(b.Rollouts)), events: make([][]byte, len(b.Events)), at: make([]Event, len(b.Events))}
	var times timeCache
	scratch := make([]byte, 0, rolloutSize)
	for i, st := range b.Rollouts {
		if st.UpdatedAt.IsZero() {
			st.UpdatedAt = clock()
		}
		if err := validateRollout(st); err != nil {
			return enc, fmt.Errorf("rollout %d: %w", i, err)
		}
		var err error
		if scratch, err = appendRollout(scratch[:0], st, &times); err != nil {
			return enc, fmt.Errorf("rollout %d: %w", i, err)
		}
		// Each state on its own: a store keeps the states of rollouts a
		// later batch leaves alone, and must not keep this batch with them.
		enc.rollouts[i] = bytes.Clone(scratch)
	}
	// The events share one buffer: stores drop events oldest first, so
	// the buffer is released with the batch's last event. Each holds its
	// service's name (a copy: not a piece of the caller's configuration,
	// which the store would keep alive).
	buf := make([]byte, 0, eventSize*len(b.Events))
	ends := make([]int, len(b.Events))
	for i, e := range b.Events {
		if e.At.IsZero() {
			e.At = clock()
		}
		buf = appendPackHeader(buf, e.Service)
		var err error
		if buf, err = appendEvent(buf, e, &times); err != nil {
			return enc, fmt.Errorf("event %d: %w", i, err)
		}
		ends[i] = len(buf)
		enc.at[i] = e
	}
	start := 0
	for i, end := range ends {
		enc.events[i] = buf[start:end:end]
		start = end
	}
	return enc, nil
}

// Write applies b in one transaction: one fsync however many records.
func (s *boltStore) Write(b Batch) ([]Event, error) {
	enc, err := encodeBatch(b, s.o.clock)
	if err != nil {
		return nil, fmt.Errorf("state store %s: write batch: %w", s.path, err)
	}
	if b.Len() == 0 {
		return nil, nil
	}
	err = s.do("write batch", true, func(tx *bolt.Tx) error {
		rb := tx.Bucket(bucketRollouts)
		for i, st := range b.Rollouts {
			if err := rb.Put([]byte(st.Service), enc.rollouts[i]); err != nil {
				return err
			}
		}
		eb := tx.Bucket(bucketEvents)
		var seq uint64
		for i := range enc.events {
			var err error
			if seq, err = eb.NextSequence(); err != nil {
				return err
			}
			if err := eb.Put(seqKey(seq), enc.events[i]); err != nil {
				return err
			}
			enc.at[i].Seq = seq
		}
		if seq == 0 {
			return nil
		}
		return prune(eb, seq, s.o.maxEvents)
	})
	if err != nil {
		return nil, err
	}
	return enc.at, nil
}

// Write applies b under one lock.
func (m *memStore) Write(b Batch) ([]Event, error) {
	enc, err := encodeBatch(b, m.o.clock)
	if err != nil {
		return nil, memErr("write batch", err)
	}
	if b.Len() == 0 {
		return nil, nil
	}
	if err := m.lock("write batch"); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	for i, st := range b.Rollouts {
		m.putLocked(st.Service, enc.rollouts[i])
	}
	for i := range enc.at {
		m.seq++
		enc.at[i].Seq = m.seq
		m.appendLocked(memEvent{seq: m.seq, rec: enc.events[i]})
	}
	return enc.at, nil
}

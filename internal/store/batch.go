package store

import (
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
	events   [][]byte // the events' JSON
	at       []Event  // the events with At set, in order
}

func encodeBatch(b Batch, clock func() time.Time) (encoded, error) {
	enc := encoded{rollouts: make([][]byte, len(b.Rollouts)), events: make([][]byte, len(b.Events)), at: make([]Event, len(b.Events))}
	for i, st := range b.Rollouts {
		if st.UpdatedAt.IsZero() {
			st.UpdatedAt = clock()
		}
		data, err := encodeRolloutChecked(st)
		if err != nil {
			return enc, fmt.Errorf("rollout %d: %w", i, err)
		}
		enc.rollouts[i] = data
	}
	for i, e := range b.Events {
		if e.At.IsZero() {
			e.At = clock()
		}
		js, err := encodeEventJSON(e)
		if err != nil {
			return enc, fmt.Errorf("event %d: %w", i, err)
		}
		enc.events[i] = js
		enc.at[i] = e
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
			if err := eb.Put(seqKey(seq), packEvent(enc.at[i].Service, enc.events[i])); err != nil {
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
		m.rollouts[st.Service] = enc.rollouts[i]
	}
	for i := range enc.at {
		m.seq++
		enc.at[i].Seq = m.seq
		m.appendLocked(memEvent{seq: m.seq, service: enc.at[i].Service, js: enc.events[i]})
	}
	return enc.at, nil
}

package store

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketMeta     = []byte("meta")
	bucketRollouts = []byte("rollouts")
	bucketEvents   = []byte("events")
	bucketBlobs    = []byte("blobs")

	metaApp     = []byte("app")
	metaFormat  = []byte("format")
	metaCreated = []byte("created_at")
	appName     = []byte("turnout")
)

// boltStore is the bbolt-backed Store.
type boltStore struct {
	db     *bolt.DB
	path   string
	o      options
	closed atomic.Bool
}

func (s *boltStore) do(op string, write bool, fn func(tx *bolt.Tx) error) error {
	if s.closed.Load() {
		return fmt.Errorf("state store %s: %s: %w", s.path, op, ErrClosed)
	}
	err := guarded(func() error {
		if write {
			return s.db.Update(fn)
		}
		return s.db.View(fn)
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		err = ErrClosed
	}
	if err != nil {
		return fmt.Errorf("state store %s: %s: %w", s.path, op, err)
	}
	return nil
}

func (s *boltStore) GetRollout(service string) (st RolloutState, ok bool, err error) {
	if err := validateService(service); err != nil {
		return st, false, fmt.Errorf("state store %s: get rollout: %w", s.path, err)
	}
	err = s.do("get rollout", false, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRollouts).Get([]byte(service))
		if v == nil {
			return nil
		}
		ok = true
		st, err = decodeRollout(service, v)
		return err
	})
	if err != nil {
		return RolloutState{}, false, err
	}
	return st, ok, nil
}

func (s *boltStore) PutRollout(st RolloutState) error {
	if st.UpdatedAt.IsZero() {
		st.UpdatedAt = s.o.clock()
	}
	data, err := encodeRolloutChecked(st)
	if err != nil {
		return fmt.Errorf("state store %s: put rollout: %w", s.path, err)
	}
	return s.do("put rollout", true, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRollouts).Put([]byte(st.Service), data)
	})
}

func (s *boltStore) DeleteRollout(service string) error {
	if err := validateService(service); err != nil {
		return fmt.Errorf("state store %s: delete rollout: %w", s.path, err)
	}
	return s.do("delete rollout", true, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRollouts).Delete([]byte(service))
	})
}

func (s *boltStore) Rollouts() (out []RolloutState, err error) {
	err = s.do("list rollouts", false, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRollouts).ForEach(func(k, v []byte) error {
			st, err := decodeRollout(string(k), v)
			out = append(out, st)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *boltStore) Append(e Event) (Event, error) {
	if e.At.IsZero() {
		e.At = s.o.clock()
	}
	js, err := encodeEventJSON(e)
	if err != nil {
		return Event{}, fmt.Errorf("state store %s: append event: %w", s.path, err)
	}
	val := packEvent(e.Service, js)
	var seq uint64
	err = s.do("append event", true, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		var err error
		if seq, err = b.NextSequence(); err != nil {
			return err
		}
		if err := b.Put(seqKey(seq), val); err != nil {
			return err
		}
		return prune(b, seq, s.o.maxEvents)
	})
	if err != nil {
		return Event{}, err
	}
	e.Seq = seq
	return e, nil
}

// prune deletes the events older than the newest max once they exceed the
// slack; Events hides the ones in the slack.
func prune(b *bolt.Bucket, last uint64, max int) error {
	if last <= uint64(max) {
		return nil
	}
	keep := last - uint64(max) + 1 // oldest Seq to keep
	c := b.Cursor()
	k, _ := c.First()
	if k == nil {
		return nil
	}
	first, err := keySeq(k)
	if err != nil || first+uint64(pruneSlack(max)) >= keep {
		return err
	}
	var doomed [][]byte
	for ; k != nil; k, _ = c.Next() {
		if seq, err := keySeq(k); err != nil || seq >= keep {
			break
		}
		doomed = append(doomed, bytes.Clone(k))
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func (s *boltStore) Events(q EventQuery) (out []Event, err error) {
	limit, err := eventLimit(q.Limit)
	if err != nil {
		return nil, fmt.Errorf("state store %s: list events: %w", s.path, err)
	}
	want := []byte(q.Service)
	err = s.do("list events", false, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		floor := eventFloor(b.Sequence(), s.o.maxEvents, q.AfterSeq)
		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			seq, err := keySeq(k)
			if err != nil {
				return err
			}
			if seq <= floor {
				break
			}
			svc, js, err := unpackEvent(seq, v)
			if err != nil {
				return err
			}
			if q.Service != "" && !bytes.Equal(svc, want) {
				continue
			}
			e, err := decodeEventJSON(seq, js)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	reverse(out)
	return out, nil
}

func reverse(es []Event) {
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
}

func (s *boltStore) PutBlob(bucket, key string, value []byte) error {
	if err := validateBlobValue(bucket, key, value); err != nil {
		return fmt.Errorf("state store %s: put blob: %w", s.path, err)
	}
	return s.do("put blob", true, func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketBlobs).CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return err
		}
		return b.Put([]byte(key), value)
	})
}

func (s *boltStore) GetBlob(bucket, key string) (val []byte, ok bool, err error) {
	if err := validateBlob(bucket, key); err != nil {
		return nil, false, fmt.Errorf("state store %s: get blob: %w", s.path, err)
	}
	err = s.do("get blob", false, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBlobs).Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		if k, v := b.Cursor().Seek([]byte(key)); k != nil && string(k) == key {
			val, ok = append([]byte{}, v...), true
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return val, ok, nil
}

func (s *boltStore) ListBlobs(bucket string) (map[string][]byte, error) {
	if err := validateBlobBucket(bucket); err != nil {
		return nil, fmt.Errorf("state store %s: list blobs: %w", s.path, err)
	}
	out := map[string][]byte{}
	err := s.do("list blobs", false, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBlobs).Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			out[string(k)] = append([]byte{}, v...)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Close closes the database and releases the file lock. It is idempotent.
func (s *boltStore) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("state store %s: close: %w", s.path, err)
	}
	return nil
}

package cluster

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/turnout-gw/turnout/internal/store"
)

// maxCommitAttempts bounds how often a write is retried because another
// member appended events first (the sequence moved, not the state).
const maxCommitAttempts = 32

// Rollouts returns every rollout state and the revision read.
func (e *Etcd) Rollouts(ctx context.Context) ([]Versioned, int64, error) {
	bctx, cancel := e.bound(ctx)
	defer cancel()
	pfx := e.rolloutKey("")
	resp, err := e.c.Get(bctx, pfx, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, e.fail(ctx, "read rollouts", err)
	}
	out := make([]Versioned, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		st, err := store.DecodeRollout(strings.TrimPrefix(string(kv.Key), pfx), kv.Value)
		if err != nil {
			return nil, 0, fmt.Errorf("cluster: %w", err)
		}
		out = append(out, Versioned{RolloutState: st, Rev: kv.ModRevision})
	}
	return out, resp.Header.Revision, nil
}

// GetRollout returns one service's state.
func (e *Etcd) GetRollout(ctx context.Context, service string) (Versioned, bool, error) {
	bctx, cancel := e.bound(ctx)
	defer cancel()
	resp, err := e.c.Get(bctx, e.rolloutKey(service))
	if err != nil {
		return Versioned{}, false, e.fail(ctx, "read rollout "+service, err)
	}
	if len(resp.Kvs) == 0 {
		return Versioned{}, false, nil
	}
	st, err := store.DecodeRollout(service, resp.Kvs[0].Value)
	if err != nil {
		return Versioned{}, false, fmt.Errorf("cluster: %w", err)
	}
	return Versioned{RolloutState: st, Rev: resp.Kvs[0].ModRevision}, true, nil
}

// PutRollout writes w.Rollout if its revision is still w.Expect (and, as
// leader, if this member still leads), with w.Events, in one transaction.
func (e *Etcd) PutRollout(ctx context.Context, w Write) (Versioned, []store.Event, error) {
	st := w.Rollout
	if st.UpdatedAt.IsZero() {
		st.UpdatedAt = time.Now().UTC()
	}
	val, err := store.EncodeRollout(st)
	if err != nil {
		return Versioned{}, nil, fmt.Errorf("cluster: %w", err)
	}
	key := e.rolloutKey(st.Service)
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", w.Expect)}
	var leadKey string
	var leadRev int64
	if w.AsLeader {
		e.mu.Lock()
		if e.elect != nil {
			leadKey, leadRev = e.elect.Key(), e.elect.Rev()
		}
		e.mu.Unlock()
		if leadKey == "" {
			return Versioned{}, nil, fmt.Errorf("cluster: write rollout %s: %w", st.Service, ErrNotLeader)
		}
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(leadKey), "=", leadRev))
	}
	resp, events, ok, err := e.commit(ctx, "write rollout "+st.Service, cmps, []clientv3.Op{clientv3.OpPut(key, string(val))}, w.Events)
	if err != nil {
		return Versioned{}, nil, err
	}
	if !ok {
		if w.AsLeader && e.lostLead(ctx, leadKey, leadRev) {
			return Versioned{}, nil, fmt.Errorf("cluster: write rollout %s: %w", st.Service, ErrNotLeader)
		}
		return Versioned{}, nil, fmt.Errorf("cluster: write rollout %s (expected revision %d): %w", st.Service, w.Expect, ErrConflict)
	}
	return Versioned{RolloutState: st, Rev: resp.Header.Revision}, events, nil
}

// PutRollouts applies ws in one transaction, all of them or none: ok is
// false when a revision (or, for a write AsLeader, the leadership) is not
// what a write expected, and nothing was written; the caller writes them
// one by one (PutRollout) to learn which. The caller keeps ws within
// MaxTxnOps (TxnCost). It returns the states as written and every write's
// events as appended, in the order of ws.
func (e *Etcd) PutRollouts(ctx context.Context, ws []Write) ([]Versioned, []store.Event, bool, error) {
	cmps := make([]clientv3.Cmp, 0, len(ws)+1)
	ops := make([]clientv3.Op, 0, len(ws))
	var events []store.Event
	leader := false
	now := time.Now().UTC()
	for _, w := range ws {
		st := w.Rollout
		if st.UpdatedAt.IsZero() {
			st.UpdatedAt = now
		}
		val, err := store.EncodeRollout(st)
		if err != nil {
			return nil, nil, false, fmt.Errorf("cluster: %w", err)
		}
		key := e.rolloutKey(st.Service)
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", w.Expect))
		ops = append(ops, clientv3.OpPut(key, string(val)))
		events = append(events, w.Events...)
		leader = leader || w.AsLeader
	}
	if leader {
		e.mu.Lock()
		var leadKey string
		var leadRev int64
		if e.elect != nil {
			leadKey, leadRev = e.elect.Key(), e.elect.Rev()
		}
		e.mu.Unlock()
		if leadKey == "" {
			return nil, nil, false, nil // the writes one by one say which need a leader
		}
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(leadKey), "=", leadRev))
	}
	resp, appended, ok, err := e.commit(ctx, fmt.Sprintf("write %d rollouts", len(ws)), cmps, ops, events)
	if err != nil || !ok {
		return nil, nil, false, err
	}
	out := make([]Versioned, len(ws))
	for i, w := range ws {
		out[i] = Versioned{RolloutState: w.Rollout, Rev: resp.Header.Revision}
		if out[i].UpdatedAt.IsZero() {
			out[i].UpdatedAt = now
		}
	}
	return out, appended, true, nil
}

// MaxTxnOps is etcd's default --max-txn-ops: the most compares, or
// operations, one transaction may hold.
const MaxTxnOps = 128

// txnOverhead is what a transaction of PutRollouts holds besides its
// writes: the sequence's compare and put, the leader's compare, the trim
// of old events.
const txnOverhead = 2

// TxnCost is the compares and the operations w adds to a transaction.
func TxnCost(w Write) (cmps, ops int) { return 1, 1 + len(w.Events) }

// Txns counts the transactions this backend sent (attempts included).
func (e *Etcd) Txns() uint64 { return e.txns.Load() }

// lostLead reports whether the election key this member wrote is gone or
// replaced; an unreadable one counts as lost.
func (e *Etcd) lostLead(ctx context.Context, key string, rev int64) bool {
	bctx, cancel := e.bound(ctx)
	defer cancel()
	resp, err := e.c.Get(bctx, key)
	return err != nil || len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != rev
}

// AppendEvents appends events alone.
func (e *Etcd) AppendEvents(ctx context.Context, events ...store.Event) ([]store.Event, error) {
	if len(events) == 0 {
		return nil, nil
	}
	_, out, _, err := e.commit(ctx, "append events", nil, nil, events)
	return out, err
}

// commit runs ops and the appends of events in one transaction guarded by
// cmps and by the sequence key's revision. It returns ok false when cmps
// failed; a moved sequence (another member's append) is retried with the
// next numbers, at most maxCommitAttempts times.
func (e *Etcd) commit(ctx context.Context, op string, cmps []clientv3.Cmp, ops []clientv3.Op, events []store.Event) (*clientv3.TxnResponse, []store.Event, bool, error) {
	encoded := make([][]byte, len(events))
	stamped := slices.Clone(events)
	now := time.Now().UTC()
	for i := range stamped {
		if stamped[i].At.IsZero() {
			stamped[i].At = now
		}
		b, err := store.EncodeEvent(stamped[i])
		if err != nil {
			return nil, nil, false, fmt.Errorf("cluster: %s: %w", op, err)
		}
		encoded[i] = b
	}
	bctx, cancel := e.bound(ctx)
	defer cancel()
	for range maxCommitAttempts {
		txn := e.c.Txn(bctx)
		guards, all := cmps, ops
		var seqRev int64
		if len(events) > 0 {
			last, rev, err := e.lastSeq(bctx)
			if err != nil {
				return nil, nil, false, e.fail(ctx, op, err)
			}
			seqRev = rev
			guards = append(slices.Clone(cmps), clientv3.Compare(clientv3.ModRevision(e.seqKey()), "=", rev))
			all = slices.Clone(ops)
			for i := range stamped {
				stamped[i].Seq = last + uint64(i) + 1
				all = append(all, clientv3.OpPut(e.eventKey(stamped[i].Seq), string(encoded[i])))
			}
			next := last + uint64(len(events))
			all = append(all, clientv3.OpPut(e.seqKey(), strconv.FormatUint(next, 10)))
			if next > uint64(e.maxEvents) {
				all = append(all, clientv3.OpDelete(e.eventKey(0), clientv3.WithRange(e.eventKey(next-uint64(e.maxEvents)+1))))
			}
		}
		e.txns.Add(1)
		resp, err := txn.If(guards...).Then(all...).Else(clientv3.OpGet(e.seqKey())).Commit()
		if err != nil {
			return nil, nil, false, e.fail(ctx, op, err)
		}
		if resp.Succeeded {
			return resp, stamped, true, nil
		}
		if len(events) > 0 && seqMoved(resp, seqRev) {
			continue // another member appended; number again
		}
		return resp, nil, false, nil
	}
	return nil, nil, false, fmt.Errorf("cluster: %s: %w: the event sequence moved %d times", op, ErrUnavailable, maxCommitAttempts)
}

// seqMoved reports whether a failed transaction's Else read of the
// sequence key shows another revision than rev.
func seqMoved(resp *clientv3.TxnResponse, rev int64) bool {
	if len(resp.Responses) == 0 {
		return false
	}
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) == 0 {
		return rev != 0
	}
	return kvs[0].ModRevision != rev
}

// lastSeq returns the last sequence assigned and its key's revision (0, 0
// before the first event).
func (e *Etcd) lastSeq(ctx context.Context) (uint64, int64, error) {
	resp, err := e.c.Get(ctx, e.seqKey())
	if err != nil {
		return 0, 0, err
	}
	if len(resp.Kvs) == 0 {
		return 0, 0, nil
	}
	n, err := strconv.ParseUint(string(resp.Kvs[0].Value), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: event sequence %q", store.ErrCorrupt, resp.Kvs[0].Value)
	}
	return n, resp.Kvs[0].ModRevision, nil
}

// eventPage is how many events one read of a filtered query fetches.
const eventPage = 500

// Events returns the last q.Limit events with Seq > q.AfterSeq (of
// q.Service, when set), oldest first.
func (e *Etcd) Events(ctx context.Context, q store.EventQuery) ([]store.Event, error) {
	limit, err := store.EventLimit(q.Limit)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	bctx, cancel := e.bound(ctx)
	defer cancel()
	from := e.eventKey(q.AfterSeq + 1)
	end := clientv3.GetPrefixRangeEnd(e.prefix + "/events/")
	page := int64(limit)
	if q.Service != "" {
		page = max(page, eventPage)
	}
	var out []store.Event
	// Newest first, a page at a time, until limit events match or the
	// range is read: at most MaxEvents/page+1 pages.
	for pages := e.maxEvents/int(page) + 2; pages > 0 && len(out) < limit; pages-- {
		resp, err := e.c.Get(bctx, from, clientv3.WithRange(end), clientv3.WithLimit(page),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
		if err != nil {
			return nil, e.fail(ctx, "read events", err)
		}
		for _, kv := range resp.Kvs {
			seq, err := strconv.ParseUint(strings.TrimPrefix(string(kv.Key), e.prefix+"/events/"), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("cluster: %w: event key %q", store.ErrCorrupt, kv.Key)
			}
			ev, err := store.DecodeEvent(seq, kv.Value)
			if err != nil {
				return nil, fmt.Errorf("cluster: %w", err)
			}
			if q.Service == "" || ev.Service == q.Service {
				out = append(out, ev)
				if len(out) == limit {
					break
				}
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		end = string(resp.Kvs[len(resp.Kvs)-1].Key) // exclusive: the oldest read
	}
	slices.Reverse(out)
	return out, nil
}

package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Register publishes m under this member's lease. The first call starts
// the keeper, which holds the lease and, when it is lost (etcd unreachable
// for longer than the lease), takes a new one and registers again as soon
// as etcd answers. Register returns once m is published, or fails (within
// the bound) with ErrUnavailable, ErrMemberExists or ErrClosed; the keeper
// goes on trying after a failure.
func (e *Etcd) Register(ctx context.Context, m Member) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	if e.member != nil && e.member.Name != m.Name {
		e.mu.Unlock()
		return fmt.Errorf("cluster: register %s: already registered as %s", m.Name, e.member.Name)
	}
	cp := m
	e.member = &cp
	sess := e.sess
	var err error
	if !e.keeping {
		e.keeping, e.lostAt = true, time.Now()
		e.wg.Add(1)
		go e.keep()
	}
	e.mu.Unlock()
	if sess == nil {
		// The keeper registers as soon as it holds a lease; publish again
		// in case it read the member before this call changed it.
		if sess, err = e.session(ctx); err != nil {
			return err
		}
	}
	return e.publish(ctx, sess, m)
}

// publish puts m under sess's lease unless another lease holds the name.
func (e *Etcd) publish(ctx context.Context, sess *concurrency.Session, m Member) error {
	val, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("cluster: register %s: %w", m.Name, err)
	}
	bctx, cancel := e.bound(ctx)
	defer cancel()
	key, lease := e.memberKey(m.Name), sess.Lease()
	put := clientv3.OpPut(key, string(val), clientv3.WithLease(lease))
	resp, err := e.c.Txn(bctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(put).
		Else(clientv3.OpTxn([]clientv3.Cmp{clientv3.Compare(clientv3.LeaseValue(key), "=", lease)}, []clientv3.Op{put}, nil)).
		Commit()
	if err != nil {
		return e.fail(ctx, "register "+m.Name, err)
	}
	if !resp.Succeeded && !resp.Responses[0].GetResponseTxn().GetSucceeded() {
		return fmt.Errorf("cluster: register %s: %w", m.Name, ErrMemberExists)
	}
	return nil
}

// keep holds a session while the backend is open: it grants a lease (each
// try bounded), registers the member under it and waits for its loss.
func (e *Etcd) keep() {
	defer e.wg.Done()
	retry := time.Duration(e.ttl) * time.Second / 3
	var old clientv3.LeaseID // the lease lost last, not yet revoked
	for !e.isClosed() {
		sess, err := e.newSession()
		if err == nil && old != clientv3.NoLease {
			// etcd restarted keeps its leases alive for another TTL, and
			// with them this member's old key: free the name now rather
			// than wait for that lease to expire.
			ctx, cancel := e.bound(context.Background())
			if _, rerr := e.c.Revoke(ctx, old); rerr == nil || errors.Is(rerr, rpctypes.ErrLeaseNotFound) {
				old = clientv3.NoLease
			}
			cancel()
		}
		if err == nil {
			e.mu.Lock()
			m := *e.member
			e.mu.Unlock()
			ctx, cancel := e.bound(context.Background())
			err = e.publish(ctx, sess, m)
			cancel()
			if err != nil {
				_ = sess.Close()
			}
		}
		e.mu.Lock()
		e.keepErr = err
		e.mu.Unlock()
		if err != nil {
			e.log.Warn("cluster: not registered", "err", err)
			select {
			case <-e.done:
			case <-time.After(retry):
			}
			continue
		}
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			_ = sess.Close()
			return
		}
		e.sess = sess
		close(e.sessUp)
		e.mu.Unlock()
		select {
		case <-sess.Done():
			e.log.Warn("cluster: lease lost", "lease", sess.Lease())
			old = sess.Lease()
		case <-e.done:
			return // Close revokes the lease
		}
		e.mu.Lock()
		e.sess = nil
		e.lostAt = time.Now()
		e.sessUp = make(chan struct{})
		e.endLeadLocked()
		e.mu.Unlock()
	}
}

// newSession grants a lease within the bound and keeps it alive until
// Close (the session's context is the backend's life, not the bound).
func (e *Etcd) newSession() (*concurrency.Session, error) {
	ctx, cancel := e.bound(context.Background())
	lease, err := e.c.Grant(ctx, int64(e.ttl))
	cancel()
	if err != nil {
		return nil, e.fail(context.Background(), "grant lease", err)
	}
	return concurrency.NewSession(e.c, concurrency.WithLease(lease.ID), concurrency.WithContext(e.life), concurrency.WithTTL(e.ttl))
}

// Alive is nil while the keeper holds a lease.
func (e *Etcd) Alive() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return ErrClosed
	case e.member == nil:
		return ErrNotRegistered
	case e.sess != nil:
		return nil
	case e.keepErr != nil:
		return fmt.Errorf("no lease: %w", e.keepErr)
	}
	return fmt.Errorf("%w: no lease since %s", ErrUnavailable, e.lostAt.Format(time.RFC3339))
}

// session waits, bounded, for a live session.
func (e *Etcd) session(ctx context.Context) (*concurrency.Session, error) {
	e.mu.Lock()
	if e.member == nil {
		e.mu.Unlock()
		return nil, ErrNotRegistered
	}
	sess, up := e.sess, e.sessUp
	e.mu.Unlock()
	if sess != nil {
		return sess, nil
	}
	bctx, cancel := e.bound(ctx)
	defer cancel()
	select {
	case <-up:
	case <-e.done:
		return nil, ErrClosed
	case <-bctx.Done():
		e.mu.Lock()
		why := e.keepErr
		e.mu.Unlock()
		if why != nil && ctx.Err() == nil {
			return nil, why // the keeper's last failure says more than a timeout
		}
		return nil, e.fail(ctx, "hold a lease", bctx.Err())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sess == nil {
		return nil, fmt.Errorf("cluster: hold a lease: %w: lost again", ErrUnavailable)
	}
	return e.sess, nil
}

// Members returns the live members with their leader flag and the time
// their lease was last renewed.
func (e *Etcd) Members(ctx context.Context) ([]Member, error) {
	leader, err := e.Leader(ctx)
	if err != nil {
		return nil, err
	}
	bctx, cancel := e.bound(ctx)
	defer cancel()
	pfx := e.memberKey("")
	resp, err := e.c.Get(bctx, pfx, clientv3.WithPrefix())
	if err != nil {
		return nil, e.fail(ctx, "read members", err)
	}
	now := time.Now()
	out := make([]Member, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var m Member
		if err := json.Unmarshal(kv.Value, &m); err != nil {
			return nil, fmt.Errorf("cluster: member %s: %w", kv.Key, err)
		}
		m.Name = strings.TrimPrefix(string(kv.Key), pfx)
		m.Leader = m.Name == leader
		if ttl, err := e.c.TimeToLive(bctx, clientv3.LeaseID(kv.Lease)); err == nil && ttl.TTL >= 0 {
			m.LastSeen = now.Add(-time.Duration(ttl.GrantedTTL-ttl.TTL) * time.Second)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Campaign blocks until this member leads, or ctx ends, or its lease is
// lost while it waits.
func (e *Etcd) Campaign(ctx context.Context) (<-chan struct{}, error) {
	sess, err := e.session(ctx)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	name := e.member.Name
	if e.elect != nil && e.sess == sess {
		lost := e.lost
		e.mu.Unlock()
		return lost, nil
	}
	e.mu.Unlock()
	el := concurrency.NewElection(sess, e.leaderPrefix())
	if err := e.campaign(ctx, sess, el, name); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sess != sess || e.closed {
		return nil, fmt.Errorf("cluster: campaign: %w: the lease was lost", ErrUnavailable)
	}
	e.elect = el
	e.lost = make(chan struct{})
	return e.lost, nil
}

// campaign runs el.Campaign in a goroutine and returns when it does or
// when ctx ends, whichever is first. It does not wait for the library's
// clean-up: on cancellation concurrency.Election.Campaign resigns with the
// client's own context, which retries until etcd answers or the client is
// closed, and a member asked to stop while etcd is down must not wait for
// that (Close closes the client, then waits for the goroutine in e.camps).
// A campaign that wins after ctx ended resigns at once, so a member never
// holds the leader key without knowing it.
func (e *Etcd) campaign(ctx context.Context, sess *concurrency.Session, el *concurrency.Election, name string) error {
	cctx, cancel := context.WithCancel(ctx)
	var (
		mu        sync.Mutex
		abandoned bool
		res       = make(chan error, 1)
	)
	e.camps.Add(1)
	go func() {
		defer e.camps.Done()
		defer cancel()
		stop := context.AfterFunc(sess.Ctx(), cancel) // the lease ended: stop waiting
		defer stop()
		err := el.Campaign(cctx, name)
		mu.Lock()
		late := abandoned
		if !late {
			res <- err
		}
		mu.Unlock()
		if late && err == nil {
			rctx, rcancel := e.bound(context.Background())
			_ = el.Resign(rctx)
			rcancel()
		}
	}()
	select {
	case err := <-res:
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("cluster: campaign: %w", ctx.Err())
		}
		return e.fail(cctx, "campaign", err)
	case <-ctx.Done():
		mu.Lock()
		abandoned = true
		select {
		case err := <-res: // decided before we gave up: honour a win
			mu.Unlock()
			if err == nil {
				return nil
			}
		default:
			mu.Unlock()
		}
		return fmt.Errorf("cluster: campaign: %w", ctx.Err())
	}
}

// endLeadLocked forgets leadership and closes its channel; e.mu is held.
func (e *Etcd) endLeadLocked() {
	if e.lost != nil {
		close(e.lost)
	}
	e.elect, e.lost = nil, nil
}

// Leader returns the name of the oldest candidate, the leader.
func (e *Etcd) Leader(ctx context.Context) (string, error) {
	bctx, cancel := e.bound(ctx)
	defer cancel()
	resp, err := e.c.Get(bctx, e.leaderPrefix()+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", e.fail(ctx, "read leader", err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// Resign gives up leadership if this member holds it.
func (e *Etcd) Resign(ctx context.Context) error {
	e.mu.Lock()
	el := e.elect
	e.endLeadLocked()
	e.mu.Unlock()
	if el == nil {
		return nil
	}
	bctx, cancel := e.bound(ctx)
	defer cancel()
	if err := el.Resign(bctx); err != nil {
		return e.fail(ctx, "resign", err)
	}
	return nil
}

package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Runner is one member's part in the fleet, whatever the Backend: it
// registers the member, campaigns for the lead and, while it leads, runs
// Lead (the rollout engine's loop); it watches the backend and hands every
// rollout state another member wrote to its Store (which the engine
// adopts), reading everything again after a cut. Run once; its methods are
// safe for concurrent use.
type Runner struct {
	b     Backend
	st    *Store
	self  Member
	lead  func(ctx context.Context)
	log   *slog.Logger
	retry time.Duration

	resync    func()
	resyncing atomic.Bool    // a resync call runs
	bg        sync.WaitGroup // the resync call; Run waits for it

	leading atomic.Bool
	mu      sync.Mutex
	synced  time.Time // the last full read or applied change
	syncErr error     // why the last read failed; nil when in sync
	members []Member  // the live members as last read (at start and on each change)
	leader  string    // the leader as last read
	changes atomic.Uint64
}

// RunnerOptions configure NewRunner.
type RunnerOptions struct {
	Backend Backend
	Store   *Store
	Self    Member
	// Lead runs while this member leads; its context ends when the lead
	// is lost. It returns when its context ends.
	Lead func(ctx context.Context)
	Log  *slog.Logger
	// Retry is the pause between two failed campaigns or reads (1s when 0).
	Retry time.Duration
	// Resynced, when set, is called (in its own goroutine, one call at a
	// time) after every full read that follows a cut, and every Retry
	// while the member holds its lease: etcd answers again, and what it
	// refused meanwhile (the engine's Resync) can be written.
	Resynced func()
}

// NewRunner returns a Runner; Run starts it.
func NewRunner(o RunnerOptions) *Runner {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	if o.Lead == nil {
		o.Lead = func(ctx context.Context) { <-ctx.Done() }
	}
	return &Runner{b: o.Backend, st: o.Store, self: o.Self, lead: o.Lead, log: o.Log, retry: o.Retry, resync: o.Resynced}
}

// Run registers the member, then campaigns and watches until ctx ends;
// rev is the revision the Store's Load read (0 when it could not).
func (r *Runner) Run(ctx context.Context, rev int64) {
	if err := r.b.Register(ctx, r.Self()); err != nil {
		r.log.Warn("cluster: registering; retrying in the background", "member", r.Self().Name, "err", err)
	}
	if rev == 0 {
		r.setSync(fmt.Errorf("%w: not read since start", ErrUnavailable))
	} else {
		r.setSync(nil)
	}
	r.refreshMembers(ctx)
	r.refreshLeader(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.campaign(ctx) })
	if r.resync != nil {
		wg.Go(func() { r.retryUnsynced(ctx) })
	}
	r.watch(ctx, rev)
	wg.Wait()
	r.bg.Wait()
}

// campaign leads whenever it can until ctx ends.
func (r *Runner) campaign(ctx context.Context) {
	for ctx.Err() == nil {
		lost, err := r.b.Campaign(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Debug("cluster: campaign", "err", err)
				r.pause(ctx)
			}
			continue
		}
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lost:
			case <-lctx.Done():
			}
			cancel()
		}()
		// A new leader decides from the fleet's state, not its cache.
		if _, err := r.st.Load(lctx); err != nil {
			r.log.Warn("cluster: leading without a fresh read; resigning", "err", err)
			cancel()
			_ = r.b.Resign(context.WithoutCancel(ctx))
			r.pause(ctx)
			continue
		}
		r.refreshMembers(lctx)
		r.log.Info("cluster: leading", "member", r.Self().Name)
		r.leading.Store(true)
		r.lead(lctx)
		r.leading.Store(false)
		cancel()
		r.log.Info("cluster: no longer leading", "member", r.Self().Name)
	}
}

// watch applies the backend's changes until ctx ends; a watch that starts
// without a revision, or is cut, reads everything first.
func (r *Runner) watch(ctx context.Context, rev int64) {
	for ctx.Err() == nil {
		if rev == 0 {
			n, err := r.st.Load(ctx)
			r.setSync(err)
			if err != nil {
				r.pause(ctx)
				continue
			}
			r.resynced()
			rev = n
		}
		for c := range r.b.Watch(ctx, rev) {
			switch c.Kind {
			case KindRollout:
				if c.Rollout != nil {
					r.st.Observe(*c.Rollout)
				} else {
					r.st.Forget(c.Name)
				}
				r.setSync(nil)
			case KindBlob:
				r.st.ObserveBlob(c.Bucket, c.Name, c.Value)
			case KindMember:
				r.refreshMembers(ctx)
			case KindLeader:
				r.refreshLeader(ctx)
			case KindResync:
				n, err := r.st.Load(ctx)
				r.setSync(err)
				if err == nil {
					r.resynced()
					rev = n
				}
			}
		}
		rev = 0 // the watch ended (ctx, or Close): read again if still running
	}
}

// refreshMembers reads the live members for Disagreement; a failed read
// keeps the last list.
func (r *Runner) refreshMembers(ctx context.Context) {
	ms, err := r.b.Members(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("cluster: reading the members", "err", err)
		}
		return
	}
	r.mu.Lock()
	r.members = ms
	r.mu.Unlock()
}

// refreshLeader reads the leader and counts a change from one leader to
// another (the first one seen is not a change; a moment without one is
// skipped).
func (r *Runner) refreshLeader(ctx context.Context) {
	l, err := r.b.Leader(ctx)
	if err != nil || l == "" {
		return
	}
	r.mu.Lock()
	changed := r.leader != "" && l != r.leader
	r.leader = l
	r.mu.Unlock()
	if changed {
		r.changes.Add(1)
	}
}

// LeaderChanges counts the times this member has seen one leader replace
// another.
func (r *Runner) LeaderChanges() uint64 { return r.changes.Load() }

// MemberCount is the number of live members as last read.
func (r *Runner) MemberCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members)
}

// Members returns the live members as last read (at start and on each
// change of membership), sorted by name; the caller owns the slice.
func (r *Runner) Members() []Member {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.members)
}

// Self is what this member publishes.
func (r *Runner) Self() Member {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.self
}

// SetSelf publishes m (a reload changed the spec hashes), bounded by ctx.
func (r *Runner) SetSelf(ctx context.Context, m Member) error {
	r.mu.Lock()
	r.self = m
	r.mu.Unlock()
	return r.b.Register(ctx, m)
}

// Disagreement says that the fleet runs a newer spec of service's rollout
// than this member (Store.Stale), or names the members whose rollout spec
// for service differs from this member's, and how, or returns "" when
// every live member agrees (as the leader last read them). It only reads: a rollout.WithStepGuard.
func (r *Runner) Disagreement(service string) string {
	if r.st != nil {
		if why := r.st.Stale(service); why != "" {
			return why
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	mine := r.self.Specs[service]
	var diff []string
	for _, m := range r.members {
		if m.Name == r.self.Name {
			continue
		}
		switch theirs, ok := m.Specs[service]; {
		case !ok:
			diff = append(diff, fmt.Sprintf("%s has no rollout for %s", m.Name, service))
		case theirs != mine:
			diff = append(diff, fmt.Sprintf("%s has rollout spec %s, the leader %s", m.Name, theirs, mine))
		}
	}
	if len(diff) == 0 {
		return ""
	}
	return "members disagree on the rollout spec (a configuration deploy not finished?): " + strings.Join(diff, "; ")
}

// retryUnsynced calls Resynced every r.retry while this member holds its
// lease (etcd answers), until ctx ends: a write refused while etcd was
// down is made once it is back, even when the watch resumed without a
// cut. Resynced does nothing when nothing was refused.
func (r *Runner) retryUnsynced(ctx context.Context) {
	t := time.NewTicker(r.retry)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if r.b.Alive() == nil {
				r.resynced()
			}
		}
	}
}

// resynced calls the Resynced option unless a call of it still runs.
func (r *Runner) resynced() {
	if r.resync == nil || !r.resyncing.CompareAndSwap(false, true) {
		return
	}
	r.bg.Go(func() {
		defer r.resyncing.Store(false)
		r.resync()
	})
}

// pause waits r.retry or until ctx ends.
func (r *Runner) pause(ctx context.Context) {
	t := time.NewTimer(r.retry)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (r *Runner) setSync(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncErr = err
	if err == nil {
		r.synced = time.Now()
	}
}

// Leading reports whether this member leads now.
func (r *Runner) Leading() bool { return r.leading.Load() }

// Synced returns when this member last read or applied the fleet's state
// and, while it cannot (a failed read, or its lease lost: the backend out
// of reach), why.
func (r *Runner) Synced() (time.Time, error) {
	alive := r.b.Alive()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.syncErr != nil:
		return r.synced, r.syncErr
	case alive != nil:
		return r.synced, alive
	}
	r.synced = time.Now() // in contact and watching: in sync now
	return r.synced, nil
}

// View is the fleet as GET /api/v1/cluster shows it.
type View struct {
	Self    string       `json:"self"`
	Leader  string       `json:"leader"`
	Members []MemberView `json:"members"`
	// LastSync is when this member last read or applied the fleet's
	// state; SyncError why it cannot now.
	LastSync  time.Time `json:"last_sync"`
	SyncError string    `json:"sync_error,omitempty"`
	// TrafficWindow is the span of the members' Requests (filled by the
	// caller that reads them; empty when it did not).
	TrafficWindow string `json:"traffic_window,omitempty"`
}

// MemberView is one member in View.
type MemberView struct {
	Name      string    `json:"name"`
	Advertise string    `json:"advertise"`
	Leader    bool      `json:"leader"`
	LastSeen  time.Time `json:"last_seen"`
	SpecHash  string    `json:"spec_hash"`
	Binary    string    `json:"binary,omitempty"`
	// Requests is how many requests the member served over the view's
	// TrafficWindow, as it counts them itself; nil when not read, with
	// TrafficError saying why when the member did not answer.
	Requests     *int64 `json:"requests,omitempty"`
	TrafficError string `json:"traffic_error,omitempty"`
}

// View reads the members and the leader from the backend.
func (r *Runner) View(ctx context.Context) (View, error) {
	ms, err := r.b.Members(ctx)
	if err != nil {
		return View{}, err
	}
	v := View{Self: r.Self().Name, Members: make([]MemberView, len(ms))}
	for i, m := range ms {
		v.Members[i] = MemberView{Name: m.Name, Advertise: m.Advertise, Leader: m.Leader, LastSeen: m.LastSeen, SpecHash: m.SpecHash, Binary: m.Binary}
		if m.Leader {
			v.Leader = m.Name
		}
	}
	synced, serr := r.Synced()
	v.LastSync = synced
	if serr != nil {
		v.SyncError = serr.Error()
	}
	return v, nil
}

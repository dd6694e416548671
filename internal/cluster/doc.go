// Package cluster is the coordination a fleet of Turnouts shares (the
// `cluster:` block): rollout state written with compare-and-swap, one event
// log with a fleet-wide sequence, membership under a lease, one leader, and
// a watch of all of it. It is reached through one small interface, Backend,
// so the engine (internal/core) never names etcd: Etcd is the first
// implementation, a Kubernetes one (a Lease and a custom resource's status)
// can follow without touching the engine.
//
// What a backend promises:
//
//   - State: each service's store.RolloutState is kept with a revision.
//     PutRollout writes only if the state still has the revision the writer
//     read (ErrConflict otherwise), so two members never overwrite each
//     other's change; the events of a write are appended in the same
//     transaction, so one action is one event, recorded once or not at all.
//     A write AsLeader also fails (ErrNotLeader) unless this member still
//     leads when it commits: a leader that lost its lease cannot step.
//   - Events: one log for the fleet, each event with a sequence number
//     assigned by the backend, strictly increasing across members.
//   - Membership: Register publishes this member (name, advertised admin
//     URL, spec hashes) under a lease it keeps alive; a member that stops
//     is gone within the lease.
//   - Election: Campaign blocks until this member leads and returns a
//     channel closed when it no longer does.
//   - Watch: every change of state, membership and leadership after a
//     revision, in order; Resync when the backend cannot say what changed.
//
// When the backend cannot be reached every call fails within its bound
// with an error wrapping ErrUnavailable, and Alive says so once the
// member's lease is lost; the caller keeps serving what it last saw. Every
// method is safe for concurrent use.
//
// Above the Backend, and the same for any backend: Store is the
// store.Store the rollout engine writes through (the member's own store its
// cache; a write the fleet does not take wraps store.ErrNotWritten, and a
// state the engine decided, or a rollout spec the fleet does not hold, is
// written only as leader), and Runner is the member's life in the fleet
// (register, campaign and run the engine's loop while leading, watch and
// adopt the others' writes, hold steps while members disagree on a spec).
//
// The etcd layout under the prefix P (config.Etcd.Prefix):
//
//	P/rollouts/SERVICE   store's rollout record (store.EncodeRollout)
//	P/events/SEQ         store's event record (store.EncodeEvent), SEQ as 20 digits
//	P/seq                the last event sequence assigned
//	P/members/NAME       a Member as JSON, under the member's lease
//	P/leader/LEASE       the election's candidates (etcd's concurrency package)
package cluster

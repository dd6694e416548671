package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/turnout-gw/turnout/internal/store"
)

// Errors callers test with errors.Is; a backend's errors wrap them.
var (
	// ErrConflict: the rollout's revision is not the one the write
	// expected; another member changed it first. Read it again and decide.
	ErrConflict = errors.New("changed by another member")
	// ErrNotLeader: a write AsLeader from a member that does not lead.
	ErrNotLeader = errors.New("this member is not the leader")
	// ErrUnavailable: the backend did not answer within the bound.
	ErrUnavailable = errors.New("cluster backend unreachable")
	// ErrMemberExists: another live member registered the same name.
	ErrMemberExists = errors.New("another live member has this name")
	// ErrNotRegistered: Campaign before Register.
	ErrNotRegistered = errors.New("this member is not registered")
	// ErrStaleSpec: a write of a rollout spec the fleet has replaced
	// since this member was configured with it (a member that has not
	// reloaded yet); the fleet's newer spec stays.
	ErrStaleSpec = errors.New("the fleet runs a newer rollout spec")
	// ErrClosed: the backend was closed.
	ErrClosed = errors.New("cluster backend closed")
)

// Versioned is a rollout state with the revision it was read at: the
// revision to expect when writing it back.
type Versioned struct {
	store.RolloutState
	Rev int64
}

// Write is one change of one rollout's state with its events.
type Write struct {
	Rollout store.RolloutState
	// Expect is the revision the state must still have (Versioned.Rev);
	// 0 means the service must have no state yet.
	Expect int64
	// Events are appended in the same transaction, with sequence numbers.
	Events []store.Event
	// AsLeader makes the write fail with ErrNotLeader unless this member
	// leads when it commits.
	AsLeader bool
}

// Member is what one member publishes about itself.
type Member struct {
	Name string `json:"name"`
	// Advertise is the URL of the member's admin port.
	Advertise string `json:"advertise"`
	// SpecHash is a hash over every service's rollout spec; Specs the hash
	// of each service's, by service, for naming a difference.
	SpecHash string            `json:"spec_hash"`
	Specs    map[string]string `json:"specs,omitempty"`
	// Binary is the member's build (version and commit).
	Binary    string    `json:"binary,omitempty"`
	StartedAt time.Time `json:"started_at"`

	// Filled by Members, not published: whether the member leads, and
	// when its lease was last renewed.
	Leader   bool      `json:"-"`
	LastSeen time.Time `json:"-"`
}

// Kind says what a Change is about.
type Kind int

// Kinds of change.
const (
	// KindRollout: a rollout's state was written or deleted.
	KindRollout Kind = iota + 1
	// KindMember: a member registered, updated or left; read Members.
	KindMember
	// KindLeader: the election changed; read Leader.
	KindLeader
	// KindResync: changes may have been missed (the watch was cut or
	// compacted); read everything again.
	KindResync
	// KindBlob: a shared blob (SharedBuckets) was written or deleted.
	KindBlob
)

// Change is one change a watch delivers.
type Change struct {
	Kind Kind
	// Name is the service (KindRollout), member (KindMember) or blob key
	// (KindBlob).
	Name string
	// Bucket and Value are the blob's (KindBlob; Value nil when deleted).
	Bucket string
	Value  []byte
	// Rollout is the new state (KindRollout; nil when deleted).
	Rollout *Versioned
	// Rev is the backend revision of the change.
	Rev int64
}

// Backend is the coordination of a fleet. Implementations are safe for
// concurrent use; every call is bounded (by ctx and by the backend's own
// timeout) and fails with ErrUnavailable when the backend is unreachable.
type Backend interface {
	// Rollouts returns every rollout state, sorted by service, and the
	// revision they were read at (for Watch).
	Rollouts(ctx context.Context) ([]Versioned, int64, error)
	// GetRollout returns one service's state and whether it has one.
	GetRollout(ctx context.Context, service string) (Versioned, bool, error)
	// PutRollout applies w: ErrConflict, ErrNotLeader, or the state as
	// written (its new revision) and the events as appended.
	PutRollout(ctx context.Context, w Write) (Versioned, []store.Event, error)
	// PutRollouts applies ws in one transaction, all or none: ok false
	// when any compare failed (nothing written). The caller bounds ws by
	// MaxTxnOps with TxnCost.
	PutRollouts(ctx context.Context, ws []Write) ([]Versioned, []store.Event, bool, error)
	// AppendEvents appends events that change no state (a reload, a
	// rejected request), assigning sequence numbers and a zero At.
	AppendEvents(ctx context.Context, events ...store.Event) ([]store.Event, error)
	// Events returns the events q selects, as store.Store.Events does.
	Events(ctx context.Context, q store.EventQuery) ([]store.Event, error)

	// Register publishes m (again, after a change) and keeps it alive
	// under this member's lease until Close, registering again when a
	// lost lease can be renewed.
	Register(ctx context.Context, m Member) error
	// Members returns the live members, sorted by name.
	Members(ctx context.Context) ([]Member, error)
	// Alive is nil while this member holds its lease (it is registered
	// and in contact), else why not, without a call to the backend.
	Alive() error

	// Campaign blocks until this member leads or ctx ends; the channel
	// is closed when it no longer leads (lease lost, Resign, Close).
	Campaign(ctx context.Context) (<-chan struct{}, error)
	// Leader returns the leading member's name, "" when none leads.
	Leader(ctx context.Context) (string, error)
	// Resign gives up leadership, if held.
	Resign(ctx context.Context) error

	// PutBlob writes a shared blob (last writer wins); Blobs reads every
	// blob of a bucket, by key.
	PutBlob(ctx context.Context, bucket, key string, value []byte) error
	Blobs(ctx context.Context, bucket string) (map[string][]byte, error)

	// Watch delivers every change after revision rev until ctx ends; the
	// channel is closed then.
	Watch(ctx context.Context, rev int64) <-chan Change

	// Close resigns, ends the lease (the member leaves at once) and
	// releases the connection.
	Close() error
}

package store

import (
	"encoding/json"
	"errors"
	"time"
)

// Rollout states, the values of RolloutState.State.
const (
	StatePending     = "pending"
	StateProgressing = "progressing"
	StatePaused      = "paused"
	StatePromoted    = "promoted"
	StateRolledBack  = "rolled_back"
)

// Weight sources, the values of RolloutState.WeightSource.
const (
	SourceConfig = "config"
	SourceAPI    = "api"
	SourceEngine = "engine"
	SourceHold   = "hold" // held pending at weight 0 by a rollout.Blocker
)

// Limits and defaults.
const (
	// MemoryPath is the state: value that selects the in-memory store.
	MemoryPath = "memory"
	// DefaultMaxEvents is how many events a store keeps unless WithMaxEvents says otherwise.
	DefaultMaxEvents = 100_000
	// DefaultEventLimit is the number of events Events returns when EventQuery.Limit is 0.
	DefaultEventLimit = 200
	// MaxEventLimit caps EventQuery.Limit.
	MaxEventLimit = 10_000
	// DefaultLockTimeout is how long Open waits for another process to release the file lock.
	DefaultLockTimeout = time.Second
	// MaxBlobSize caps the size of one blob value.
	MaxBlobSize = 1 << 20
	// FormatVersion is the on-disk format this package writes and reads.
	FormatVersion = 1
)

// Errors that callers can test for with errors.Is. The errors returned by a
// store wrap them together with the file path and the operation.
var (
	// ErrLocked means the state file is held by another process (usually
	// another turnout using the same state: file).
	ErrLocked = errors.New("locked by another process")
	// ErrCorrupt means the file is not a valid Turnout state store: damaged,
	// truncated, garbage or another application's database.
	ErrCorrupt = errors.New("not a valid Turnout state store")
	// ErrFormat means the file is a Turnout state store in a format this build does not read.
	ErrFormat = errors.New("unsupported state store format")
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("store is closed")
	// ErrNotWritten means a store shared by several processes (a fleet's,
	// internal/cluster) did not take the write because the state moved on
	// since it was read, another process decides it, or the shared store is
	// unreachable: the writer keeps serving what it had and does not act.
	// A local store never returns it.
	ErrNotWritten = errors.New("not written to the shared state")
	// ErrInvalid wraps rejected arguments (empty service, unknown state, bad blob bucket name...).
	ErrInvalid = errors.New("invalid argument")
)

// RolloutState is the persisted status of one service's rollout (JSON-encoded in the store).
type RolloutState struct {
	Service       string          `json:"service"`
	From          string          `json:"from"`
	To            string          `json:"to"`
	SpecHash      string          `json:"spec_hash"` // hash of the rollout block (from, to, steps); a change starts a new rollout
	State         string          `json:"state"`     // pending | progressing | paused | promoted | rolled_back
	Weight        float64         `json:"weight"`
	Step          int             `json:"step"`          // index into steps, -1 when none
	WeightSource  string          `json:"weight_source"` // config | api | engine
	Reason        string          `json:"reason"`
	StartedAt     time.Time       `json:"started_at"`
	StepStartedAt time.Time       `json:"step_started_at"` // also the analysis 'since' bound
	UpdatedAt     time.Time       `json:"updated_at"`
	LastAnalysis  json.RawMessage `json:"last_analysis,omitempty"` // opaque to the store
	// Generation counts the rollout specs a fleet ran for the service: a
	// write of another spec than the fleet's holds the next one (set by
	// the fleet's store; 0 in a local store).
	Generation int64 `json:"generation,omitempty"`
}

// Event is one audit-log entry.
type Event struct {
	Seq     uint64         `json:"seq"` // assigned by Append, strictly increasing, survives restarts
	At      time.Time      `json:"at"`
	Service string         `json:"service,omitempty"`
	Type    string         `json:"type"`  // config_reload, config_rejected, weight_change, step, analysis_failure, rollback, promotion, pause, resume, abort, state_change, ...
	Actor   string         `json:"actor"` // "engine", "config", "api", "api:<token name>", ...
	Message string         `json:"message"`
	Fields  map[string]any `json:"fields,omitempty"` // weight, from, to, check, value, threshold...
	// RawFields, when Fields is empty, holds the fields already encoded as
	// a JSON object (see AppendRolloutFields): a writer of thousands of
	// events spares a map each. Stored events read back have Fields.
	RawFields json.RawMessage `json:"-"`
}

// EventQuery selects events. Limit 0 means DefaultEventLimit and is capped at
// MaxEventLimit; Events returns the LAST Limit matching events with Seq >
// AfterSeq, in ascending Seq. An empty Service matches every event.
type EventQuery struct {
	Service  string
	AfterSeq uint64
	Limit    int
}

// Store is the interface the rollout engine uses. Implementations are safe for concurrent use.
type Store interface {
	// GetRollout returns the state of service's rollout and whether there is one.
	GetRollout(service string) (RolloutState, bool, error)
	// PutRollout stores s under s.Service, replacing any previous state; it is
	// durable when it returns. A zero UpdatedAt is set from the store's clock.
	PutRollout(s RolloutState) error
	// DeleteRollout removes service's state; deleting a missing one is not an error.
	DeleteRollout(service string) error
	// Rollouts returns every stored rollout, sorted by service.
	Rollouts() ([]RolloutState, error)
	// Append assigns Seq (and At if zero, from the store's clock), stores e,
	// prunes the oldest events beyond the store's maximum and returns the stored event.
	Append(e Event) (Event, error)
	// Write puts every rollout state of b, then appends every event of b
	// (assigning Seq and a zero At as Append does), all or nothing and
	// durable when it returns: one fsync for the whole batch. It returns
	// the stored events.
	Write(b Batch) ([]Event, error)
	// Events returns the events q selects, newest last.
	Events(q EventQuery) ([]Event, error)
	// PutBlob stores a small record under bucket/key (bucket names are validated).
	PutBlob(bucket, key string, value []byte) error
	// GetBlob returns the record under bucket/key and whether it exists.
	GetBlob(bucket, key string) ([]byte, bool, error)
	// ListBlobs returns every record in bucket (empty, not an error, for an unknown bucket).
	ListBlobs(bucket string) (map[string][]byte, error)
	// Close releases the store (and the file lock); later calls fail with ErrClosed.
	Close() error
}

// Option configures Open.
type Option func(*options)

type options struct {
	clock       func() time.Time
	maxEvents   int
	lockTimeout time.Duration
}

// WithClock sets the clock used for Event.At and RolloutState.UpdatedAt when
// the caller leaves them zero. nil keeps time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.clock = now
		}
	}
}

// WithMaxEvents sets how many events the store keeps; older ones are pruned
// on Append. n <= 0 keeps DefaultMaxEvents.
func WithMaxEvents(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxEvents = n
		}
	}
}

// WithLockTimeout sets how long Open waits for another process to release
// the file lock before failing with ErrLocked. d <= 0 keeps DefaultLockTimeout.
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.lockTimeout = d
		}
	}
}

// Open opens the store named by the config's state: value: "memory" selects
// an in-memory implementation (same semantics, nothing persisted); anything
// else is a bbolt file path, created if missing (its directory must exist).
// Open fails with an error naming the file, wrapping ErrLocked when another
// process holds the file, ErrCorrupt when it is not a valid Turnout state
// store (the file is then left untouched), ErrFormat for a format this build
// does not read, and the operating-system error when the path is unusable.
func Open(path string, opts ...Option) (Store, error) {
	o := options{clock: time.Now, maxEvents: DefaultMaxEvents, lockTimeout: DefaultLockTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if path == MemoryPath {
		return newMemory(o), nil
	}
	return openBolt(path, o)
}

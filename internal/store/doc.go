// Package store owns Turnout's live status: the persisted state of each
// service's rollout (state, weight, step, why) and an append-only audit log of
// events, plus small generic records ("blobs") for other features. The config
// file is the desired spec; this package remembers where the gateway actually
// is, so that a kill -9 at any moment followed by a restart resumes at the same
// state and weight.
//
// Open picks the implementation from the config's state: value. "memory"
// keeps everything in process memory (same semantics, nothing persisted);
// anything else names a bbolt database file. Every write to a bbolt store is
// one transaction that bbolt fsyncs before the call returns, so a call that
// returned nil survives a crash, and a crash mid-call leaves the previous
// state. Open never starts fresh over a file it cannot read as a Turnout
// store: a file locked by another process fails with ErrLocked after a short
// timeout (DefaultLockTimeout), and a damaged, truncated, empty (0-byte) or
// foreign file fails with ErrCorrupt, naming the command that starts fresh,
// and is left untouched. A new file is formatted under a temporary name and
// linked into place, so Open never leaves an empty or half-made one. An existing file is first opened
// read-only and every record read once (checking the layout, the format
// version and the file size against bbolt's high-water mark); bbolt panics
// and faults on the mapped file are recovered and reported as ErrCorrupt,
// both in Open and in later calls.
//
// On-disk layout (format version 1): bucket "meta" (app, format,
// created_at), "rollouts" (service → JSON RolloutState), "events"
// (big-endian uint64 seq → uvarint service length, service, JSON Event; the
// bucket sequence assigns Seq, so Seq keeps increasing across restarts and
// pruning) and "blobs" (one nested bucket per blob bucket name).
//
// Concurrency: both implementations are safe for concurrent use by multiple
// goroutines. Writes are serialised (bbolt allows one write transaction at a
// time); reads run concurrently with each other and with a write. Values
// returned to callers are decoded copies, never views into the database.
package store

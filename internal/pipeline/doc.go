// Package pipeline owns the background path that follows answers after the
// client got them — tap, bounded queue, workers, results, samples, gate —
// shared by mirror comparison (internal/mirror) and live contract
// validation (internal/contract/live):
//
//   - Tap is what an applier (the proxy, the middleware) offers each
//     ordinary request to; the Exchange a Tap starts follows the primary's
//     answer on the request's goroutine and never blocks. Tee copies the
//     answer's body, bounded, as the client reads it.
//   - Pipeline is the bounded queue and the fixed worker pool: Submit never
//     blocks (a full queue drops the job and counts it on the job's Lane),
//     and optional per-lane caps keep one service's slow jobs from
//     occupying every worker. What a job does is the concern's: the function
//     given to New.
//   - Results keep one service's outcomes: the concern's own counters, a
//     sliding window of the share that failed (a diff, a violation) and a
//     Ring of the last failing samples, all under one lock.
//   - Gate is the rollout analysis check reading that window.
//
// Each concern keeps only what differs: which requests it takes, what a job
// does, what it counts and reports. This package imports no data-plane
// package, so proxy and middleware depend on it and not the reverse.
//
// Ownership: a Pipeline owns its queue, workers and flush loop, stopped by
// Close; Lanes and Results belong to the concern's per-service state and
// outlive reloads with it. Every type here is safe for concurrent use
// except Tee and Ring, which their owner guards.
package pipeline

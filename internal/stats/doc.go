// Package stats keeps sliding-window request counters and latency quantiles
// per (service, version, upstream): the numbers the rollout analysis, the
// admin API and the dashboard read.
//
// # Data model
//
// A [Registry] holds one [Series] per [Key]. Stats are keyed by
// (service, version, upstream name), never by address, so an upstream whose
// address changes keeps its history. A Series is created by the first
// [Registry.Record] for its key and lives until [Registry.Forget] drops the
// service.
//
// Each Series keeps two resolutions, bounded whatever the traffic:
//
//   - fine: a ring of 120 one-second buckets (the last 2 minutes at full
//     resolution), the only thing Record writes;
//   - coarse: sealed ten-second records of the last 15 minutes, folded from
//     the ring when a second leaves it (see below).
//
// A bucket counts what a ten-second record also holds: request and error
// counts, the range of latencies seen and a log-scale latency histogram of
// 48 buckets: an underflow bucket below 50µs, 46 buckets from 50µs to 60s
// each ~1.356× wider than the previous one, and an overflow bucket at or
// above 60s (reported as 60s). Quantiles are interpolated linearly inside
// the histogram bucket that holds the wanted rank, with the bucket's bounds
// narrowed to the latency range. The range is kept as two float32s, rounded
// outwards: exact for whole nanoseconds below 16.7 ms, and otherwise at
// most 6e-8 (relative) wider than the latencies seen.
//
// # Memory
//
// Memory follows the traffic, not the worst case:
//
//   - A ring bucket is 48 bytes: stamp, counts, range and 8 sparse
//     histogram entries of (index, count) in 16 bits each, which count up to
//     1,023 samples. A second whose latencies spread over more than 8
//     histogram buckets, or that counts more samples in one of them,
//     allocates a dense histogram of 48 × 4 = 192 bytes for its bucket,
//     which keeps it (zeroed) from then on.
//   - The ring is allocated in chunks of 6 buckets (288 bytes), each when a
//     Record first lands in it; the Series header with the chunk table is
//     232 bytes. A series that saw traffic for a few seconds holds a few
//     chunks; a ring that has seen traffic in every chunk holds all 20
//     (5.6 KiB, plus the dense histograms of its busy seconds).
//   - The index costs some 50 bytes per series (a service's entry and its
//     list; see Registry).
//   - A ten-second record is 16 bytes plus 2 per histogram bucket that saw
//     traffic in the interval (4 for one that counted 1,022 samples or more,
//     6 from 65,536), in a circular buffer per series sized to the
//     live records plus a quarter, with a 720-byte slot table; nothing is
//     allocated for it before a second first leaves the ring, 2 minutes
//     after the series' first traffic.
//
// Measured with lognormal latencies (σ = 1, so a second's samples spread
// over several histogram buckets): 12 seconds at 8 requests/s cost about
// 1 KB per series; 16 minutes at 0.8/s about 9.4 KB and at 8/s about
// 11.5 KB; at 100/s, when every second needs a dense histogram, about
// 35 KB (TestSeriesMemory). The earlier fixed rings took 48,720 bytes per
// series from its first request.
//
// # Windows
//
// [Registry.Window] and [Registry.VersionWindow] aggregate the buckets that
// lie entirely inside [max(now-window, since), now] (the bucket holding now
// counts up to now). Windows whose lower bound is at most 120 s back are read
// from the fine ring; longer ones in ten-second intervals, whose lower
// bound rounds up to a multiple of 10 s and which cannot reach further back
// than 15 minutes. An interval is read from its sealed record if it has
// one, else from its seconds in the ring. [Summary.Span] reports the time
// actually covered, which also never starts before the series' earliest
// record; [Summary.Rate] is Requests divided by that span (at least one
// second). Rounding the lower bound up, never down, guarantees that nothing
// recorded before `since` is judged again after a rollout changes state.
//
// # Exports
//
// [Registry.Export] reads the windows of several services at one instant
// as [Window]s: counts, latency range and histogram bucket counts, the
// numbers a Summary is computed from, never the quantiles themselves. A
// fleet member sends them to the leader in a compact binary form
// ([Export.AppendBinary], [DecodeExport]); [Export.Merge] adds them up,
// so N members' exports give exactly the Summary one registry would give
// for the union of their traffic (TestExportMergeIsExact).
//
// # Sealing
//
// When Record moves a ring bucket to a new second, the second it held
// leaves the ring. Before the bucket is zeroed, the ten-second interval
// that second belongs to is sealed — folded from its seconds still in the
// ring into a compact record — unless an earlier second of the interval
// already sealed it (sealed.go describes the store). A second leaves the
// ring at least 2 minutes after it ended, so an interval is complete when
// it is sealed; until then it is read from the ring, and a series that
// stops receiving traffic keeps its last seconds in the ring, where they
// stay readable.
//
// # Concurrency
//
// All methods are safe for concurrent use.
//
//   - The series are found by service in an immutable map snapshot behind
//     an [sync/atomic.Pointer], then by (version, upstream) in the
//     service's short copy-on-write list. Record looks them up without
//     locks or allocations; only the first Record of a new key (and Forget)
//     takes the registry mutex, copies the service's list or the snapshot
//     and publishes the copy.
//   - Record updates its bucket with atomic adds and compare-and-swaps. It
//     never takes a lock shared with other keys. The one lock it takes is
//     its series' mutex, and only to move a bucket to a new second — at
//     most once per second per series — while it zeroes the bucket and, the
//     first time a second of an interval leaves the ring, seals the
//     interval; Records for the new second wait for that.
//   - Allocation: Record allocates a ring chunk the first time a Record
//     lands in it, a dense histogram the first time a bucket needs one, and
//     the sealed store when it must grow or shrink to fit the traffic.
//     With steady traffic all of that is done within the first 15 minutes,
//     after which Record allocates nothing (TestSealedStoreSettles).
//   - A Record that checked the stamp of the old second but was delayed past
//     the rotation may still add its sample to the new second (or it is
//     lost), and a query that reads a bucket while it is being written can
//     see a count without its histogram entry. These races need a goroutine
//     stalled for a whole ring period (2 minutes) or concern one in-flight
//     sample; they are accepted to keep Record's path free of locks.
//   - Queries copy a bucket and re-check its stamp afterwards, skipping it if
//     it rotated meanwhile; they read a sealed record seqlock style. A query
//     that reads an interval from the ring looks for its sealed record again
//     afterwards, so a second that left the ring meanwhile is still
//     counted. Queries see every Record that returned before they started.
//   - The clock is injected ([NewRegistry]); the package never reads the
//     wall clock itself, so tests drive it with a fake clock.
package stats

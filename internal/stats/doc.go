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
// Each Series has two fixed rings of time buckets, so memory is bounded
// whatever the traffic:
//
//   - fine: 120 one-second buckets (the last 2 minutes at full resolution);
//   - coarse: 90 ten-second buckets (the last 15 minutes).
//
// A bucket holds a stamp (the start of the interval it currently counts, in
// Unix seconds), a request count, an error count, the smallest and largest
// latency seen and a fixed log-scale latency histogram of 48 buckets: an
// underflow bucket below 50µs, 46 buckets from 50µs to 60s each ~1.356× wider
// than the previous one, and an overflow bucket at or above 60s (reported as
// 60s). Quantiles are interpolated linearly inside the histogram bucket that
// holds the wanted rank, with the bucket's bounds narrowed to the observed
// minimum and maximum.
//
// Memory per Series: (120 + 90) buckets × (5 × 8 bytes of counters +
// 48 × 4 bytes of histogram) = 210 × 232 = 48,720 bytes (≈ 47.6 KiB), plus
// a few dozen bytes of header. 1,000 services × 2 versions × 1 upstream is
// about 97 MB.
//
// # Windows
//
// [Registry.Window] and [Registry.VersionWindow] aggregate the buckets that
// lie entirely inside [max(now-window, since), now] (the bucket holding now
// counts up to now). Windows whose lower bound is at most 120 s back are read
// from the fine ring; longer ones from the coarse ring, whose 10-second
// buckets make the lower bound round up to a multiple of 10 s and which
// cannot reach further back than 15 minutes. [Summary.Span] reports the time
// actually covered, which also never starts before the series' first record;
// [Summary.Rate] is Requests divided by that span (at least one second).
// Rounding the lower bound up, never down, guarantees that nothing recorded
// before `since` is judged again after a rollout changes state.
//
// # Concurrency
//
// All methods are safe for concurrent use.
//
//   - The key → Series map is an immutable snapshot behind an
//     [sync/atomic.Pointer]. Record looks it up without locks or allocations;
//     only the first Record of a new key (and Forget) takes the registry
//     mutex, copies the snapshot and publishes the copy.
//   - Record updates its bucket with atomic adds. It never takes a lock shared
//     with other keys: the only waiting it can do is a short spin while
//     another Record of the same series is zeroing a bucket it is rotating.
//   - Rotation: when Record lands in a bucket whose stamp belongs to an older
//     interval, it CASes the stamp to a "rotating" marker, zeroes the
//     counters and then publishes the new stamp; Records for the new interval
//     wait for that. A Record that checked the stamp of the old interval but
//     was delayed past the rotation may still add its sample to the new
//     interval (or it is lost), and a query that reads a bucket while it is
//     being written can see a count without its histogram entry. These races
//     need a goroutine stalled for a whole ring period (2 or 15 minutes) or
//     concern one in-flight sample; they are accepted to keep Record
//     lock-free.
//   - Queries copy a bucket and re-check its stamp afterwards, skipping it if
//     it rotated meanwhile. They see every Record that returned before they
//     started.
//   - The clock is injected ([NewRegistry]); the package never reads the
//     wall clock itself, so tests drive it with a fake clock.
package stats

// Package mirror owns shadow traffic: it copies a share of a service's
// requests to the version named by the service's `mirror` block, compares
// each copy's answer with the primary's (package mirror/compare), and keeps
// the results — totals per service and per endpoint, per-path difference
// counts, learned noise, and a ring of recent differing samples persisted in
// the state store.
//
// Which requests are mirrored is decided by the routing table, once, with
// the rest of the request's decision (route.Decision.Mirror: method
// allowed, percent, sticky on the rollout's key so a user's whole session is
// mirrored or none of it). The data plane hands requests over through
// pipeline.Tap: Manager.Start, on the request's goroutine, takes the ones
// the decision selected, buffers the body once up to mirror.max_body, and
// returns a tap that copies the primary's answer as it streams to the client.
// Once the client's answer is complete the tap queues a job on the bounded
// queue of a pipeline.Pipeline (a full queue drops the copy and counts it)
// served by a fixed worker pool. Workers send the copy with X-Turnout-Mirror: 1, detached from the
// client's context and bounded by mirror.timeout; the client never waits for
// a copy, whatever the mirror target does. A copy to a version served_by
// another is adapted both ways by that version's adapter (adapt.Adapter's
// Request and Response, the proxy's own code), so the comparison is with
// what the adapted version's clients would get.
//
// With compare.noise, every copy's request is also sent a second time to the
// primary version: paths that differ between two answers of the same version
// are noise for that endpoint and are excluded from the diff rate. The diff
// rate over a sliding window feeds the rollout analysis check max_diff_rate
// through Manager.Gate.
package mirror

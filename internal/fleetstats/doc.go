// Package fleetstats owns analysis over a whole fleet: the leader of
// several Turnout members judges a rollout on every member's traffic, not
// on its own share of it.
//
// A [Source] is the rollout engine's stats on the leader (a
// rollout.RemoteStats and rollout.Prefetcher). At each tick the engine
// tells it every window it is about to analyse (Prefetch); the Source
// pulls those windows from every other live member at once, one GET
// /api/v1/internal/stats per member in parallel, bounded by one timeout
// for the whole pull, reads its own registry's at the same moment, and
// merges them exactly (stats.Export: counts and histogram buckets, never
// averaged percentiles). A pull of thousands of windows whose query
// string would pass 256 KiB is split into several requests per member. FetchWindow then answers from that merge: one
// request per member per tick, not one per service. A FetchWindow the
// engine did not announce pulls its service alone (the `to` and `from`
// reads of one analysis share that pull), and its answer is kept for
// MaxAge.
//
// A member that does not answer in time, answers an error (a wrong token:
// 401) or sends what does not decode makes the whole pull fail with a
// [*PullError] naming every such member and why; the engine then waits,
// with that error as the analysis reason, and never judges the rollout on
// the members that did answer alone. Membership decides who is asked: a
// member that left the fleet (its lease expired) is no longer asked.
//
// Each member reads its windows with its own clock: the window and the
// step's start (since) travel in the request, the member cuts its own
// buckets, so clocks skewed by less than a second cost at most a second of
// a window's edge. Windows that reach back over 2 minutes are read in
// ten-second intervals on every member alike (see internal/stats).
//
// # Wiring
//
// On a member of a fleet the engine's stats are
//
//	src, _ := fleetstats.New(memberName, registry, liveMembers,
//		fleetstats.WithToken(adminToken), fleetstats.WithTimeout(timeout))
//	router, _ := promsource.NewRouter(src, ...)
//
// where liveMembers lists the members holding a lease (internal/cluster).
// The Router answers the services whose analysis reads Prometheus from
// Prometheus and passes the others, their errors and Prefetch to the
// Source. Pulls() feeds the turnout_cluster_* metrics of failed pulls.
// internal/core wires it so (fleetStats), the token being admin.token_env's,
// which every member shares. Each reads the same windows from every member
// without merging them: the per-member traffic of GET /api/v1/cluster.
//
// A Source is safe for concurrent use. It keeps no goroutine between
// calls: a pull's goroutines end before Prefetch or FetchWindow returns.
package fleetstats

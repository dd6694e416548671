// Package rollout owns the rollout state machine: per service, the states
// pending, progressing, paused, promoted and rolled_back; analysis of the
// `to` version's sliding-window stats against absolute thresholds (and,
// optionally, relative to `from`) at least every second; step advancement;
// automatic rollback or pause on failure; the manual actions (promote,
// pause, resume, abort, set weight); persistence of state and events in the
// store; webhook notifications; and holds: a Blocker (the gateway's
// require_compatible contract check) keeps a rollout pending at weight 0
// until a later configuration load lets it go.
//
// The Engine never touches sockets: it publishes weights through an apply
// function (the gateway's atomic table swap) and reads numbers through the
// Stats interface; a RemoteStats (Prometheus) may fail, which makes the
// analysis wait rather than judge. It is safe for concurrent use; its lock is never held
// while publishing, notifying or calling observers.
package rollout

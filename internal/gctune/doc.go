// Package gctune owns the garbage collector's pacing for the serving
// process: a Tuner lets the heap grow to a minimum size (20 MiB by
// default) before collecting, whatever the live heap.
//
// Go's default (GOGC=100) lets the heap grow by as much as is live. A
// gateway with a small configuration has a live heap of a few MiB and
// allocates tens of MiB a second under load, so it collects ten or more
// times a second, and each collection costs CPU (marking, assists) and
// latency (the requests in flight meanwhile). With a minimum heap goal, a
// small heap is collected a few times less often; a heap of more than
// half the minimum (big configurations) keeps GOGC=100 and so its memory
// footprint.
//
// The Tuner is process-wide (it sets GOGC with debug.SetGCPercent), so
// only `turnout serve` starts one, and only when GOGC is not set in the
// environment: an operator's GOGC wins. GOMEMLIMIT keeps working as the
// runtime's hard cap either way.
package gctune

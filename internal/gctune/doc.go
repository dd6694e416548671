// Package gctune owns the garbage collector's pacing for the serving
// process: a Tuner keeps at least a fixed headroom (16 MiB by default)
// between the live heap and the next collection.
//
// Go's default (GOGC=100) lets the heap grow by as much as is live. A
// gateway with a small configuration has a live heap of a few MiB and
// allocates tens of MiB a second under load, so it collects ten or more
// times a second, and each collection costs CPU (marking, assists) and
// latency (the requests in flight meanwhile). With a fixed minimum
// headroom, a small heap is collected a few times less often; a large
// heap (big configurations, where the headroom is already more than the
// minimum) keeps GOGC=100 and so its memory footprint.
//
// The Tuner is process-wide (it sets GOGC with debug.SetGCPercent), so
// only `turnout serve` starts one, and only when GOGC is not set in the
// environment: an operator's GOGC wins. GOMEMLIMIT keeps working as the
// runtime's hard cap either way.
package gctune

// Package promsource owns analysis from Prometheus: when Envoy (or anything
// else Prometheus scrapes) carries a service's traffic, Turnout's own stats
// see nothing, so a rollout whose analysis has source: prometheus reads the
// requests, errors and latency quantiles of its `to` and `from` versions
// from a Prometheus server instead, with instant PromQL queries over the
// HTTP API (/api/v1/query).
//
// Compile turns a configuration into a Source: every query template is
// parsed once there, never per analysis. A Source is immutable and safe for
// concurrent use. Router is what the rollout engine reads: a
// rollout.RemoteStats that answers each service from the Source it was last
// given (services analysed by Prometheus) or from Turnout's own stats (the
// others); it is safe for concurrent use and is swapped to a new Source on
// every configuration load.
//
// Queries are bounded by the configured timeout. A query that fails or
// times out makes the analysis wait with the error as its reason (never a
// rollback); failures are counted and logged. A query that returns no data
// means no traffic: the analysis waits for traffic, as min_requests says.
package promsource

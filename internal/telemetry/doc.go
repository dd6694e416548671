// Package telemetry is what Turnout tells operators: Prometheus metrics,
// OpenTelemetry traces, the process logger and the access log.
//
// # Metrics
//
// Metrics owns a private prometheus.Registry served at the admin port's
// GET /metrics, with the Go runtime and process collectors and the metrics
// of SPEC.md:
//
//	turnout_requests_total{service,version,code}
//	turnout_request_duration_seconds{service,version}   (histogram)
//	turnout_decisions_total{service,reason}
//	turnout_rollout_weight{service}
//	turnout_rollbacks_total{service}
//	turnout_mirror_compared_total{service,result}
//	turnout_config_reloads_total{result}
//	turnout_access_log_dropped_total                    (only with log.access)
//
// Label values come only from the configuration and fixed sets, never from
// a request: service and version are configured names; code is the numeric
// status (100..599, anything else "other"); reason is pinned, rule,
// experiment, rollout, default or fallback. A request no service matched
// has service="" (Unmatched); a request Turnout answered itself (400, 404,
// 406, 410, 308) has version="" (NoVersion). Requests and durations are
// recorded under the version that served the request, so a request that
// fell back from v2 to v1 counts once, for v1, and its decision counts
// once, under reason "fallback" (its routing reason otherwise). A reload
// deletes the series of services and versions it removed.
//
// The request observer runs on every request: it does one lock-free map
// read for the service and one for the version, then adds to plain atomic
// counters (see BenchmarkObserver); nothing is formatted per request. The
// requests, duration and decision metrics are not client_golang children:
// a collector builds their samples from those counters when /metrics is
// scraped, so they cost a few hundred bytes per service and version
// instead of several kilobytes.
//
// turnout_rollout_weight follows the rollout engine (ObserveRollout, its
// observer) and is set for every rollout after each load; a rollout that
// enters rolled_back (automatic rollback or abort) counts once in
// turnout_rollbacks_total. Both are built by a collector too, from one
// small entry per service. turnout_config_reloads_total counts reloads
// after start (file, SIGHUP, admin API), not the load at start.
//
// # Traces
//
// NewTracing turns tracing on only when OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and OTEL_SDK_DISABLED is not
// true, OTEL_TRACES_EXPORTER not none); otherwise no tracer is installed
// and the proxy pays one nil check. The protocol is
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL, grpc
// or http/protobuf (the default); everything else (headers, TLS,
// sampler, batching, resource) comes from the standard OTEL_* variables,
// with service.name "turnout" unless OTEL_SERVICE_NAME says otherwise.
//
// Each proxied request gets a server span "METHOD PATH_PREFIX" that
// continues the W3C trace context and baggage of the request, and a client
// span "METHOD UPSTREAM" per upstream attempt (a request that fell back has
// two), whose context replaces the traceparent sent upstream. Attributes:
// turnout.service, turnout.version (served), turnout.requested_version,
// turnout.reason, turnout.rule, turnout.fallback, turnout.upstream and the
// HTTP conventions' http.request.method, url.path, http.route,
// http.response.status_code, error.type; 5xx and transport errors set an
// error status. App.Stop flushes the spans still batched.
//
// # Logs
//
// NewLogger builds the process logger from the log block: slog's text
// handler, or its JSON handler with format json, at the block's level.
//
// AccessLog writes one JSON line per request when log.access is set (see
// AccessLog for the fields). Requests hand their line to a bounded queue
// and never wait for the writer; what does not fit is dropped and counted
// in turnout_access_log_dropped_total. The proxy tells only its Tracer a
// request's method and path, so the access log is an observe.Tracer that
// wraps the OpenTelemetry one (or none).
package telemetry

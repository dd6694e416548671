// Package xds serves Turnout's routing to Envoy proxies and proxyless gRPC
// clients over the xDS aggregated discovery service (ADS).
//
// Translate is one pure function from a compiled route.Table to Envoy
// resources (listeners, route configurations, clusters and cluster load
// assignments) for one kind of node. Whatever Envoy or gRPC cannot
// express (rules with expr, fallback, ...) is returned as warnings, never
// silently dropped: they are the applier table's refusals for the node's
// kind (config.Config.Refusals, Kind.Applier), which `turnout validate`
// prints.
//
// Server is the ADS server (state-of-the-world and delta, go-control-plane's
// snapshot cache). Snapshots are keyed by node kind: an Envoy node
// (anything that is not a gRPC client) gets a real listener on
// xds.envoy_listen with an HttpConnectionManager that takes its routes over
// ADS; a proxyless gRPC client gets one api_listener per service, named
// after the service, so it dials xds:///SERVICE and subscribes to that
// listener and its clusters only: the gRPC snapshot is served by a cache
// that answers such a subset, Envoy's by an ADS-strict one (newCaches).
// A node is a gRPC client
// when its user_agent_name starts with "gRPC" (grpc-go says "gRPC Go",
// grpc-java "gRPC Java") or its id starts with "grpc". A snapshot's version
// is a hash of its sorted resources, so an unchanged table is never pushed;
// every resource passes its Validate() before it is served. Server.Update is
// called with every table the gateway publishes (reload, weight change,
// step, rollback) and is safe for concurrent use.
//
// Trust (trust.go, authz.go): with a trust block the Envoy listener calls
// the server's ext_authz Authorization service before routing; it applies
// the same trust.Policy as the gateway and tells Envoy which colour to
// remove and whether the request may pin (the x-turnout-trusted marker the
// refused pin routes require). Envoy fails closed (503) when it cannot ask.
// Proxyless gRPC clients route in their own process, so under a trust
// block they are untrusted, always: their export has no pin routes of a
// service that refuses untrusted pins and no rules matching colour the
// policy strips; such calls take the split or the default.
//
// NACKs (nack.go): the server records the nonce and version of every
// response; a client that rejects the current version is not sent it again
// until the next snapshot (go-control-plane would resend it in a loop). Each
// rejection is logged with the client's error message, counted
// (turnout_xds_nacks_total) and reported to the Rejected callback (the
// gateway appends an xds_nack event).
package xds

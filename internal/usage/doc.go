// Package usage owns the answer to "who still calls each version": it
// counts every request the data plane serves per service × version ×
// client — requests, first and last seen, and the operations used — and,
// per service × version, the requests of each minute of the last day.
//
//   - Key reads a request's client as services.NAME.clients.key says: a
//     header, cookie or query parameter (credentials shown only as
//     HashClient's hash), the subject of the verified client certificate
//     or the client's address. The contract package's deprecated usage
//     (contract.client_key) reads its clients with the same Key.
//   - Tracker counts (Record, fed by the appliers' observer in
//     internal/core: the proxy and the in-process middleware), answers
//     GET /api/v1/usage/{service} (Usage) and the retirement schedule's
//     guard (Recent), and keeps the counts in the state store (bucket
//     Bucket, one record per service), written every FlushEvery and at
//     Close, read when a service is first configured.
//
// Memory is bounded: at most services.NAME.clients.max_clients clients per
// version (the requests of any further client count under OtherClient),
// Options.MaxOperations operations per client (further ones are counted
// in OtherOperations), at most RingMinutes minute buckets per version and
// Hours hour buckets per client, kept sparse (a series holds only the
// minutes or hours that saw requests), so an idle service costs a few
// dozen bytes and one whose two versions were called once about 750
// bytes. A version keeps up to 8 clients in a list before it indexes them
// in a map.
//
// Concurrency: a Tracker is safe for concurrent use. Record takes only its
// service's lock and allocates nothing for a known client and operation;
// the configuration is swapped atomically by Configure. Configure, Flush
// and Close are serialised by the Tracker's own lock, and the store is
// written outside the services' locks. Close stops the flush loop the
// Tracker started in New.
package usage

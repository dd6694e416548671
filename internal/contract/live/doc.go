// Package live checks a service's live traffic against its versions'
// OpenAPI contracts (the documents internal/contract loads):
//
//   - Response validation. A share (contract.validate_percent) of the
//     answers of a rollout's `to` version is validated against the `from`
//     version's document, and of each version served_by another (an
//     adapted version) that has a document of its own against that
//     document, as the client gets the answer (after the adapter's
//     response program); a rollout whose `to` is such a version is
//     validated, and gated, by `to`'s own document. Each validated version
//     has its own results (a check). The request is matched to an operation by
//     kin-openapi's router and the answer by openapi3filter.ValidateResponse.
//     The answer's body is copied as it streams to the client (bounded by
//     contract.max_body) and validated by a small worker pool behind a
//     bounded queue: nothing of it is in the client's latency path, and a
//     full queue drops the copy (counted). Violations are counted per
//     version, answering upstream and operation
//     (turnout_contract_violations_total), the last ones kept as samples,
//     and Gate is the rollout analysis check max_contract_violation_rate
//     over the rollout's `to` check.
//   - Deprecated usage. Operations and parameters marked deprecated in a
//     version's document are recognised on the requests routed to that
//     version by a matcher compiled once per document, which only services
//     with deprecated items consult; each use is counted per operation,
//     parameter and client (contract.client_key; credentials hashed) and
//     answered with a Deprecation header. The counts are written to the
//     state store every second when they changed (and at Close), so they
//     survive restarts.
//
// Manager is a pipeline.Tap: the proxy offers it every ordinary request
// (proxy.WithTap), and the copied answers go through a pipeline.Pipeline.
// Update adopts a configuration and its documents; routers and matchers
// are built once per document and reused while the document is unchanged.
// All methods are safe for concurrent use.
package live

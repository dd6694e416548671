// Package fault owns user-configured fault injection: the compiled form of
// a `fault` block (versions.NAME.fault, rules[].fault) and the draw that
// decides, from an injected random value, whether one request is delayed,
// aborted, both or neither. route.Decision carries the Spec that applies;
// the proxy (before sending a request upstream) and the middleware (before
// calling the handler) apply the outcome, with the shared abort answer
// (AbortBody, Header) and wait (Sleep). Nothing here keeps state: a Spec is
// immutable and safe for concurrent use.
package fault

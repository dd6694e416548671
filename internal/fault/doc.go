// Package fault owns user-configured fault injection: the compiled form of
// a `fault` block (versions.NAME.fault, rules[].fault) and the draw that
// decides, from an injected random value, whether one request is delayed,
// aborted, both or neither. The proxy applies the outcome before sending a
// request upstream; nothing here sleeps, reads a clock or keeps state, so a
// Spec is immutable and safe for concurrent use.
package fault

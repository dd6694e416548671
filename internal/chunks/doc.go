// Package chunks runs independent work over the items 0..n on several
// goroutines, each taking one contiguous range, for the reload steps that
// handle thousands of services one by one (decoding, validating and
// compiling them). Callers keep what each chunk produces apart and merge
// it in chunk order, so that the result does not depend on the schedule.
package chunks

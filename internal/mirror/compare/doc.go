// Package compare owns the comparison of a mirrored (candidate) answer with
// the primary's answer to the same request, and the learning of noise: the
// paths in which the primary differs from itself. It knows nothing about
// requests, upstreams or metrics; package mirror sends the traffic, calls
// this package and counts and stores the results.
//
// # What is compared
//
//   - The status code, always.
//   - The headers named in config.Compare.Headers, only: names
//     case-insensitive, values exact, several values in order. A difference
//     is reported at "header:NAME" with NAME as configured.
//   - The body. When both Content-Types are application/json or a +json type
//     and both bodies are one JSON value each, structurally (below);
//     otherwise byte for byte, one difference at path "" showing each
//     side's length and a quoted excerpt from just before the first
//     differing byte. Identical bytes always match. Empty bodies on both
//     sides match; an empty body against a non-empty one differs.
//
// # JSON bodies
//
// Object key order never matters. Keys are compared exactly: "Name" and
// "name" are two different keys, each reported missing on the other side.
// Patterns, on the other hand, match keys case-insensitively (so /Meta/ID
// ignores /meta/id). Numbers are kept as written and compared by value at
// any precision: 1.0 equals 1 and 1e2 equals 100, but 12345678901234567890
// and 12345678901234567891 differ. A value whose type changed is reported at
// its path with both values (at "" when the roots differ in type); a key or
// element present on one side only is reported with Missing ("<missing>",
// not JSON, so never confused with a string) on the other.
//
// Arrays are compared element by element, in order, and extra elements are
// reported one by one. An array whose path an Unordered pattern matches is
// compared as a multiset: each primary element takes an equal candidate
// element; leftovers are paired with the leftover they differ from least and
// reported under the primary element's index, and candidate elements left
// over after that are named as if appended after the primary's last
// element. The matching is quadratic, so it is bounded: above 256 elements a
// side an array is compared in order, and once one Compare has visited about
// a million values matching elements, the remaining unordered arrays are
// compared in order too.
//
// Bodies are parsed by this package's own parser (parse.go), which accepts
// exactly what encoding/json accepts, keeps numbers as text, turns invalid
// UTF-8 into U+FFFD and lets the last of duplicate keys win, like
// encoding/json, and allocates little: the node arrays are pooled.
//
// Config patterns are JSON Pointers (RFC 6901, ~0 and ~1 escapes) in which a
// "*" segment matches any one key or index (a key literally named "*" can
// only be matched by the wildcard). A numeric segment matches that array
// index or that object key.
//
//   - Ignore: the matched path and everything under it are skipped, also
//     when present on one side only.
//   - Unordered: the array at exactly the matched path.
//   - Tolerance: an absolute tolerance for numbers at the matched path or
//     under it: |a-b| <= tol counts as equal. When several patterns apply,
//     the one with the most segments wins, then the smallest tolerance. The
//     arithmetic is exact decimal (math/big) up to 10,000-digit numbers,
//     float64 beyond.
//
// Differences are listed in document order (object keys sorted bytewise,
// indices numerically) after the status and header ones; at most MaxDiffs
// are listed and Result.Omitted counts the rest.
//
// # Truncated bodies
//
// A truncated body is never parsed as JSON: both bodies are compared byte
// for byte over the part both are known to have, i.e. up to the shortest
// cut. Bytes past a cut are unknown and never make a difference on their
// own, so a truncated primary and a longer candidate with the same first
// bytes match. They differ when the kept bytes differ, or when one side is
// complete and ends at or before the other's cut (the other had more). As a
// consequence two truncated JSON answers that differ only in key order or
// spacing are reported as different; raise the mirror's max_body to compare
// them structurally.
//
// # Concurrency
//
// A Comparer is immutable after New and safe for concurrent use; each
// Compare takes its working state (parsed bodies) from a sync.Pool and
// returns it before it returns; a Result shares no memory with the
// Responses or the Comparer. A Noise guards its maps with a
// RWMutex: Learn takes the write lock only to record paths (the comparison
// runs before), Paths and Filter take the read lock. Both are bounded in
// work and memory whatever the input: rendered values are cut to about 200
// bytes, a Noise keeps at most MaxNoiseEndpoints × MaxNoisePaths paths.
// Responses are only read; the caller must not modify them during a call.
package compare

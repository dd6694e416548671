// Package adapt runs the declarative adapters of versions served by another
// version's upstream (versions.NAME.served_by and adapt): jq programs
// (github.com/itchyny/gojq) compiled once when a configuration is compiled,
// run on every request and answer of the adapted version.
//
// What a program sees and returns:
//
//   - the request program gets {method, path, query, headers, body} and
//     returns the same shape: method and path are strings (the path as
//     sent upstream, version prefix already set aside), query and headers
//     are objects of name → string (an array of strings when the name is
//     repeated; header names lower case), body is the decoded JSON body or
//     null when there is none. A key left out of the result keeps its input
//     value; a null body sends no body.
//   - the response program gets {status, headers, body} and returns the
//     same shape.
//
// A program must yield exactly one object. It runs with a deadline
// (Timeout) and its result body is bounded (the adapter's MaxBody): a
// program that errors, yields nothing or several values, runs out of time
// or yields too much fails with an *Error naming the stage, and nothing of
// its result is used. Programs cannot read the environment ($ENV is empty)
// or further inputs.
//
// An Adapter holds the compiled programs of one version: the default pair
// and per-operation pairs (method and OpenAPI path template, first match
// wins). It is immutable and safe for concurrent use. Request and Response
// adapt HTTP messages (http.go): the proxy applies them to an adapted
// version's traffic (internal/proxy), the mirror to the copies it sends to
// one (internal/mirror); `turnout adapt test` runs the programs offline
// (internal/cli).
package adapt

// Package contract owns Turnout's OpenAPI contracts: loading a version's
// document (OpenAPI 3.0 or 3.1, YAML or JSON, with $refs inside the document
// or to local files), comparing two documents for backward compatibility with
// oasdiff's diff and checker packages, and formatting the resulting Report as
// text, JSON or Markdown.
//
// Load returns a Document that keeps the parsed kin-openapi document
// (Document.Spec) next to the content hash of every file it was read from;
// Compare turns two documents into a Report of Items at the levels ERR, WARN
// and INFO. A Cache remembers documents by their files' contents and reports
// by the pair of document hashes, so a configuration reload that leaves the
// documents unchanged recomputes nothing. Build is what a configuration load
// does: every version's `openapi` document, and for each rollout the report
// from its `from` document to its `to` document.
//
// Nothing here reimplements a compatibility rule: the rules, their IDs, levels
// and messages are oasdiff's. The package adds loading with positioned errors
// (LoadError names FILE:LINE:COL when the parser or validator gives one), the
// report model and its formats.
package contract

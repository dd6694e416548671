// Package trust owns trusted colour: deciding whether a request may set
// the headers, cookies and query parameters that routing reads (rules,
// experiments, sticky keys, version pins), and removing them from the
// requests that may not, before the routing table decides and before the
// request is forwarded.
//
// A request is trusted when its client address is in the configured
// networks (the address X-Forwarded-For names when the peer is a trusted
// proxy) or when it carries a valid signed-colour header from a trusted
// edge. A Policy is compiled from the configuration and the routing table
// on every apply; it is immutable and safe for concurrent use.
package trust

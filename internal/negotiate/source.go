package negotiate

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// ErrMalformed reports a version value that cannot be parsed. Callers answer
// it with HTTP 400.
var ErrMalformed = errors.New("malformed version")

// ErrNotAcceptable reports a well-formed version value that no declared
// version satisfies. Callers answer it with HTTP 406.
var ErrNotAcceptable = errors.New("no such version")

// Source identifies where a requested version came from.
type Source uint8

// The sources a version can be read from. SourceNone means no source carried
// a version; it is never a valid entry of Options.Sources.
const (
	SourceNone Source = iota
	SourceHeader
	SourceAccept
	SourcePath
	SourceQuery
	// SourceBody is a member of a JSON request body, named by a JSON
	// Pointer (Options.Body); the caller reads the body (see WantsBody).
	SourceBody
)

var sourceNames = [...]string{
	SourceNone:   "none",
	SourceHeader: "header",
	SourceAccept: "accept",
	SourcePath:   "path",
	SourceQuery:  "query",
	SourceBody:   "body",
}

// String returns the configuration name of s: "none", "header", "accept",
// "path", "query" or "body".
func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "Source(" + strconv.Itoa(int(s)) + ")"
}

// ParseSource parses a configuration name ("header", "accept", "path",
// "query", "body"; case-insensitive) into a Source. "none" is not a usable source and
// is rejected like any unknown name.
func ParseSource(s string) (Source, error) {
	for i := SourceHeader; i <= SourceBody; i++ {
		if strings.EqualFold(s, sourceNames[i]) {
			return i, nil
		}
	}
	return SourceNone, fmt.Errorf("negotiate: unknown source %q", s)
}

// Options configure a Negotiator.
type Options struct {
	// Sources lists the sources to consult, in order of precedence.
	Sources []Source
	// Header is the request header carrying a version, e.g. "X-API-Version".
	// Required when SourceHeader is enabled.
	Header string
	// Query is the query parameter carrying a version, e.g. "version".
	// Required when SourceQuery is enabled.
	Query string
	// AcceptVendor is the vendor media type prefix, e.g.
	// "application/vnd.example", matching application/vnd.example.v2+json.
	// Empty means only version= parameters count in the Accept header.
	AcceptVendor string
	// Body is the JSON Pointer (RFC 6901) of the version in a JSON request
	// body, e.g. "/api_version". Required when SourceBody is enabled.
	Body string
	// MaxBody bounds the body read for SourceBody, in bytes
	// (DefaultMaxBody when 0): a longer body carries no version.
	MaxBody int64
}

// Negotiator extracts the requested version from a request. It is compiled
// once by New, is immutable and is safe for concurrent use.
type Negotiator struct {
	sources []Source
	has     [SourceBody + 1]bool
	header  string // canonical header key
	query   string
	vendor  string
	body    Pointer
	maxBody int64
}

// New validates o and compiles it into a Negotiator. Sources must be
// non-empty, free of duplicates and of SourceNone; the header and query names
// must be set when their sources are enabled.
func New(o Options) (*Negotiator, error) {
	if len(o.Sources) == 0 {
		return nil, errors.New("negotiate: no sources configured")
	}
	n := &Negotiator{sources: slices.Clone(o.Sources)}
	for _, s := range o.Sources {
		if s == SourceNone || s > SourceBody {
			return nil, fmt.Errorf("negotiate: invalid source %v", s)
		}
		if n.has[s] {
			return nil, fmt.Errorf("negotiate: duplicate source %v", s)
		}
		n.has[s] = true
	}
	if o.Header != "" || n.has[SourceHeader] {
		if !isToken(o.Header) {
			return nil, fmt.Errorf("negotiate: invalid header name %q", o.Header)
		}
		n.header = http.CanonicalHeaderKey(o.Header)
	}
	if n.has[SourceQuery] && o.Query == "" {
		return nil, errors.New("negotiate: query source enabled without a parameter name")
	}
	n.query = o.Query
	if o.Body != "" || n.has[SourceBody] {
		p, err := ParsePointer(o.Body)
		if err != nil {
			return nil, fmt.Errorf("negotiate: body: %w", err)
		}
		n.body = p
	}
	if o.MaxBody < 0 {
		return nil, fmt.Errorf("negotiate: negative max body %d", o.MaxBody)
	}
	n.maxBody = o.MaxBody
	if n.maxBody == 0 {
		n.maxBody = DefaultMaxBody
	}
	if o.AcceptVendor != "" {
		typ, sub, ok := strings.Cut(o.AcceptVendor, "/")
		if !ok || !isToken(typ) || !isToken(sub) {
			return nil, fmt.Errorf("negotiate: invalid accept vendor %q", o.AcceptVendor)
		}
		n.vendor = o.AcceptVendor
	}
	return n, nil
}

// HasSource reports whether s is one of the configured sources.
func (n *Negotiator) HasSource(s Source) bool {
	return int(s) < len(n.has) && n.has[s]
}

// Requested returns the raw version text the request asks for and the source
// that carried it, trying the configured sources in order; the first source
// that carries a version wins. It is RequestedIn without a body: the body
// source, if enabled, carries nothing.
func (n *Negotiator) Requested(r *http.Request, pathVersion string) (value string, src Source, ok bool, err error) {
	return n.RequestedIn(r, pathVersion, nil)
}

// RequestedIn returns the raw version text the request asks for and the
// source that carried it, trying the configured sources in order; the first
// source that carries a version wins.
//
// pathVersion is the version segment already split off the path by
// SplitPathVersion ("" if none); it is only consulted when SourcePath is
// enabled and is returned as given (e.g. "v2"). Accept versions are returned
// without the leading 'v' (e.g. "2.1"). Header and query values are trimmed of
// spaces and tabs.
//
// body is r's whole body, read by the caller because WantsBody said so (at
// most MaxBody bytes), or nil when it was not read: the body source then
// carries nothing. The value at the pointer is a string or a number (see
// Pointer.Find); a body that is not valid JSON carries nothing.
//
// ok is false when no source carries a version. When a source carries a
// malformed value (an unparseable vendor version or version= parameter, an
// invalid q-value on a range that carries a version, a bad %-escape in the
// query value, a body member that is neither a string nor a number)
// RequestedIn stops and returns that source with ErrMalformed, unwrapped.
func (n *Negotiator) RequestedIn(r *http.Request, pathVersion string, body []byte) (value string, src Source, ok bool, err error) {
	for _, s := range n.sources {
		v, found, err := n.from(s, r, pathVersion, body)
		if err != nil {
			return "", s, false, err
		}
		if found {
			return v, s, true, nil
		}
	}
	return "", SourceNone, false, nil
}

// WantsBody reports whether RequestedIn would look at r's body: the body
// source is enabled, r has a JSON body (JSONBody) and no source before the
// body in order of precedence carries a version or a malformed value, and
// the body's declared length (if any) is at most MaxBody. An
// applier that can read bodies then reads at most MaxBody bytes of it (one
// more, to tell a longer body) before deciding.
func (n *Negotiator) WantsBody(r *http.Request, pathVersion string) bool {
	if !n.has[SourceBody] || r.ContentLength > n.maxBody || !JSONBody(r) {
		return false // a declared length over the bound is not read at all
	}
	for _, s := range n.sources {
		if s == SourceBody {
			return true
		}
		if _, found, err := n.from(s, r, pathVersion, nil); found || err != nil {
			return false
		}
	}
	return false
}

// MaxBody is the most bytes of a body the body source reads.
func (n *Negotiator) MaxBody() int64 { return n.maxBody }

// from is the version source s carries, if any.
func (n *Negotiator) from(s Source, r *http.Request, pathVersion string, body []byte) (string, bool, error) {
	switch s {
	case SourceHeader:
		if vs := r.Header[n.header]; len(vs) > 0 {
			if v := trimOWS(vs[0]); v != "" {
				return v, true, nil
			}
		}
	case SourceAccept:
		return n.acceptVersion(r.Header["Accept"])
	case SourcePath:
		return pathVersion, pathVersion != "", nil
	case SourceQuery:
		if r.URL != nil {
			return n.queryVersion(r.URL.RawQuery)
		}
	case SourceBody:
		if body != nil && int64(len(body)) <= n.maxBody && JSONBody(r) {
			return n.body.Find(body)
		}
	}
	return "", false, nil
}

// queryVersion scans a raw query string for the first n.query=value pair.
// Keys and values are unescaped only when they contain '%' or '+'.
func (n *Negotiator) queryVersion(raw string) (string, bool, error) {
	for raw != "" {
		var pair string
		if j := strings.IndexByte(raw, '&'); j >= 0 {
			pair, raw = raw[:j], raw[j+1:]
		} else {
			pair, raw = raw, ""
		}
		key, val, _ := strings.Cut(pair, "=")
		if key != n.query {
			if !needsUnescape(key) {
				continue
			}
			k, err := url.QueryUnescape(key)
			if err != nil || k != n.query {
				continue
			}
		}
		if needsUnescape(val) {
			v, err := url.QueryUnescape(val)
			if err != nil {
				return "", false, ErrMalformed
			}
			val = v
		}
		val = trimOWS(val)
		return val, val != "", nil
	}
	return "", false, nil
}

func needsUnescape(s string) bool {
	return strings.IndexByte(s, '%') >= 0 || strings.IndexByte(s, '+') >= 0
}

// trimOWS trims HTTP optional whitespace (spaces and tabs) from both ends.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

package route

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/turnout-gw/turnout/internal/negotiate"
)

// SuccessorPath returns the path under which the successor of d's version
// is reached for this request: the version segment is replaced (or added)
// with the successor's name, so /v1/users/1 becomes /v2/users/1.
func (d *Decision) SuccessorPath(r *http.Request) string {
	succ := d.Version.Successor
	if succ == nil {
		return ""
	}
	seg := succ.Name
	if !strings.HasPrefix(seg, "v") && !strings.HasPrefix(seg, "V") {
		seg = "v" + seg
	}
	rest := r.URL.Path
	if d.PathVersion != "" {
		_, rest, _ = negotiate.SplitPathVersion(rest)
	}
	if rest == "/" {
		rest = ""
	}
	return "/" + seg + rest
}

// RedirectLocation is the Location of a 308 for a redirect version. A
// version named in the query is replaced there; otherwise the successor's
// path form is used, keeping the query.
func (d *Decision) RedirectLocation(r *http.Request) string {
	succ := d.Version.Successor
	if succ == nil {
		return ""
	}
	if d.Source == negotiate.SourceQuery {
		q := r.URL.Query()
		q.Set(d.Service.Negotiation.Query, succ.Name)
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		return u.RequestURI()
	}
	loc := d.SuccessorPath(r)
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	return loc
}

// SetLifecycleHeaders adds Deprecation, Sunset and the successor Link to h
// when d's version is deprecated (RFC 9745, RFC 8594).
func (d *Decision) SetLifecycleHeaders(h http.Header, r *http.Request) {
	v := d.Version
	if v == nil || v.Lifecycle != Deprecated {
		return
	}
	h.Set("Deprecation", v.deprecationHeader)
	if v.sunsetHeader != "" {
		h.Set("Sunset", v.sunsetHeader)
	}
	if v.Successor != nil {
		h.Add("Link", "<"+d.SuccessorPath(r)+`>; rel="successor-version"`)
	}
}

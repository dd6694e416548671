package admin

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// The admin port's defences against web pages, which a browser on the
// operator's machine can aim at it:
//
//   - DNS rebinding: a page of evil.example whose name is made to resolve
//     to 127.0.0.1 reads and acts as if it were the same origin. Every
//     request but /healthz and /readyz must name the port by an IP address
//     (a browser connects to an IP literal only when the page is on that
//     address itself), by localhost, or by a name of admin.hosts; others
//     are refused 403 (misdirectedHost).
//   - Cross-site requests: a page may POST to any address, with a simple
//     content type and no custom header. A mutation whose Origin is not
//     the admin port's own is refused 403 (foreignOrigin); without any
//     admin token a mutation also needs Content-Type: application/json,
//     which no page can send to another origin without a CORS preflight
//     this API never grants (415, notJSON). With a token the Authorization
//     header already forces that preflight.

// hostName returns the host of a Host header or URL host ("name:port",
// "[::1]:port", "name"), lower-cased, without brackets or a final dot.
func hostName(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(h, "]"), "["), ".")
	return strings.ToLower(h)
}

// hostAllowed reports whether a request naming host may be served: an IP
// literal, localhost, a name of names, or no Host at all (HTTP/1.0, never
// a browser).
func hostAllowed(host string, names []string) bool {
	if host == "" {
		return true
	}
	h := hostName(host)
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if h == "localhost" {
		return true
	}
	return slices.ContainsFunc(names, func(n string) bool { return hostName(n) == h })
}

// misdirectedHost refuses a request whose Host is not an address of the
// admin port; it reports whether it did.
func (a *API) misdirectedHost(w http.ResponseWriter, r *http.Request) bool {
	if hostAllowed(r.Host, a.hosts()) {
		return false
	}
	a.log.Warn("admin: request for a foreign host refused (DNS rebinding?)", "host", r.Host, "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
	WriteError(w, http.StatusForbidden, fmt.Errorf("host %q is not an address of this admin port: name it by IP address or localhost, "+
		"or list the name in admin.hosts", r.Host))
	return true
}

// originAllowed reports whether a mutation's Origin header, if any, is the
// admin port's own: the same host and port as the request's Host, or a
// name of names (the port's name behind a proxy). "null" (a sandboxed or
// file page) is foreign.
func originAllowed(r *http.Request, names []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	h := hostName(u.Host)
	return slices.ContainsFunc(names, func(n string) bool { return hostName(n) == h })
}

// foreignOrigin refuses a mutation sent by another origin's page; it
// reports whether it did.
func (a *API) foreignOrigin(w http.ResponseWriter, r *http.Request) bool {
	if originAllowed(r, a.hosts()) {
		return false
	}
	a.log.Warn("admin: cross-origin action refused", "origin", r.Header.Get("Origin"), "host", r.Host, "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
	WriteError(w, http.StatusForbidden, fmt.Errorf("origin %q is not this admin port's (%s): actions from other sites' pages are refused", r.Header.Get("Origin"), r.Host))
	return true
}

// notJSON refuses a mutation that does not declare a JSON body; it
// reports whether it did.
func notJSON(w http.ResponseWriter, r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && mt == "application/json" {
		return false
	}
	WriteError(w, http.StatusUnsupportedMediaType, fmt.Errorf("actions need Content-Type: application/json (got %q)", r.Header.Get("Content-Type")))
	return true
}

package live

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/turnout-gw/turnout/internal/contract"
)

// compiled is what one document is built into, once: kin-openapi's router
// for validation, the base paths of its servers and the matcher of its
// deprecated items. It is immutable.
type compiled struct {
	doc *contract.Document
	// router matches requests to the document's operations; nil when it
	// could not be built (answers are then not validated).
	router routers.Router
	// bases are the path parts of the document's servers ("/api/v1"),
	// longest first, which a request path may carry before the
	// document's paths.
	bases []string
	// dep is nil when nothing in the document is deprecated.
	dep *depMatcher
}

// compileDoc builds a document's router and deprecation matcher. The router
// is built over a copy of the document without servers (requests are
// matched by path, whatever host they reached Turnout on; the servers'
// base paths are tried by find). An error leaves the router nil and the
// matcher built.
func compileDoc(d *contract.Document) (*compiled, error) {
	c := &compiled{doc: d, bases: basePaths(d.Spec.Servers)}
	c.dep = newDepMatcher(d.Spec, c.bases)
	bare := *d.Spec
	bare.Servers = nil
	r, err := legacy.NewRouter(&bare, openapi3.DisableExamplesValidation())
	if err != nil {
		return c, fmt.Errorf("building the router of %s: %w", d.Path, err)
	}
	c.router = r
	return c, nil
}

// basePaths returns the path parts of servers' URLs that are not "/",
// longest first.
func basePaths(servers openapi3.Servers) []string {
	var out []string
	for _, s := range servers {
		bp, err := s.BasePath()
		if err != nil {
			continue
		}
		bp = strings.TrimRight(bp, "/")
		if bp == "" || !strings.HasPrefix(bp, "/") {
			continue
		}
		if !contains(out, bp) {
			out = append(out, bp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// stripBase returns path without the first base path it starts with (as
// whole segments), or path itself.
func stripBase(bases []string, path string) string {
	for _, b := range bases {
		if strings.HasPrefix(path, b) && (len(path) == len(b) || path[len(b)] == '/') {
			if len(path) == len(b) {
				return "/"
			}
			return path[len(b):]
		}
	}
	return path
}

// find matches a request to an operation of the document: the path as
// it is, then without a server's base path.
func (c *compiled) find(method, path, rawQuery string) (*routers.Route, map[string]string, *http.Request, bool) {
	if c.router == nil {
		return nil, nil, nil, false
	}
	req := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: rawQuery}, Header: http.Header{}}
	for _, p := range []string{path, stripBase(c.bases, path)} {
		req.URL.Path = p
		if rt, params, err := c.router.FindRoute(req); err == nil {
			return rt, params, req, true
		}
		if p == path && len(c.bases) == 0 {
			break
		}
	}
	return nil, nil, nil, false
}

// operationLabel names an operation in metrics and views: "GET /items/{id}".
func operationLabel(method, path string) string { return method + " " + path }

package trust

import (
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"github.com/turnout-gw/turnout/internal/route"
)

func canonical(name string) string { return textproto.CanonicalMIMEHeaderKey(name) }

// strip removes k's headers, cookies and query parameters from r and
// returns which kinds it removed (route.RemovedHeader, RemovedCookie,
// RemovedQuery). It
// allocates only when something is removed.
func (k *keys) strip(r *http.Request) route.Removed {
	var removed route.Removed
	for _, h := range k.headers {
		if _, ok := r.Header[h]; ok {
			delete(r.Header, h)
			removed |= route.RemovedHeader
		}
	}
	if len(k.cookies) > 0 {
		if lines, ok := r.Header["Cookie"]; ok && k.anyCookie(lines) {
			kept := lines[:0:0]
			for _, line := range lines {
				if line = k.dropCookies(line); line != "" {
					kept = append(kept, line)
				}
			}
			if len(kept) == 0 {
				delete(r.Header, "Cookie")
			} else {
				r.Header["Cookie"] = kept
			}
			removed |= route.RemovedCookie
		}
	}
	if len(k.queries) > 0 && r.URL != nil && r.URL.RawQuery != "" && k.anyQuery(r.URL.RawQuery) {
		r.URL.RawQuery = k.dropQueries(r.URL.RawQuery)
		removed |= route.RemovedQuery
	}
	return removed
}

// cookieName returns the name of one "name=value" pair of a Cookie line.
func cookieName(part string) string {
	name, _, _ := strings.Cut(part, "=")
	return strings.TrimSpace(name)
}

func (k *keys) anyCookie(lines []string) bool {
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			if slices.Contains(k.cookies, cookieName(part)) {
				return true
			}
		}
	}
	return false
}

// dropCookies returns a Cookie line without the named cookies, the others
// kept as written.
func (k *keys) dropCookies(line string) string {
	var b strings.Builder
	for line != "" {
		var part string
		part, line, _ = strings.Cut(line, ";")
		p := strings.TrimSpace(part)
		if p == "" || slices.Contains(k.cookies, cookieName(p)) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p)
	}
	return b.String()
}

// queryName returns the decoded name of one "name=value" query pair.
func queryName(part string) string {
	name, _, _ := strings.Cut(part, "=")
	if strings.ContainsAny(name, "%+") {
		if n, err := url.QueryUnescape(name); err == nil {
			return n
		}
	}
	return name
}

func (k *keys) anyQuery(raw string) bool {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if slices.Contains(k.queries, queryName(part)) {
			return true
		}
	}
	return false
}

// dropQueries returns a raw query without the named parameters, the others
// kept as written and in order.
func (k *keys) dropQueries(raw string) string {
	var b strings.Builder
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" || slices.Contains(k.queries, queryName(part)) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	return b.String()
}

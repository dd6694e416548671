package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// This file holds the syntax checks shared by the Validate methods. None of
// them does I/O: addresses and host names are checked for form only.

// checkListen checks that addr (at key of m) is host:port with a numeric
// port from 0 to 65535. An empty addr is left to defaults or to the caller.
func checkListen(m *Meta, key, addr string) error {
	if addr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return m.problem(key, "%q is not a host:port address (e.g. 127.0.0.1:8080 or :8080)", addr)
	}
	if strings.ContainsFunc(host, func(r rune) bool { return unicode.IsSpace(r) || r == '/' }) {
		return m.problem(key, "%q has an invalid host %q", addr, host)
	}
	if _, ok := parsePort(port); !ok {
		return m.problem(key, "port %q of %q must be a number from 0 to 65535", port, addr)
	}
	return nil
}

// parsePort parses a decimal port number from 0 to 65535.
func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n <= 65535
}

// sameAddress reports whether two valid host:port addresses would collide:
// the same non-zero port on the same host, or on any host when either
// listens on all interfaces. Names are not resolved.
func sameAddress(a, b string) bool {
	ah, ap, err1 := net.SplitHostPort(a)
	bh, bp, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil {
		return false
	}
	an, ok1 := parsePort(ap)
	bn, ok2 := parsePort(bp)
	if !ok1 || !ok2 || an == 0 || an != bn {
		return false
	}
	return strings.EqualFold(ah, bh) || anyHost(ah) || anyHost(bh)
}

// anyHost reports whether a listen host means all interfaces.
func anyHost(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }

// nameProblem returns what is wrong with a version, upstream or service
// name (kind), or "": names are non-empty, without '/' and without
// whitespace or control characters, since they appear in paths and headers.
func nameProblem(kind, name string) string {
	if name == "" {
		return kind + " name must not be empty"
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r == '/' || unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return fmt.Sprintf("%s name %q must not contain '/' or whitespace", kind, name)
	}
	return ""
}

// validEnvName reports whether s is a portable environment variable name.
func validEnvName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2): the
// form of header and method names, also required of cookie and query names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// checkMethod returns what is wrong with an HTTP method name, or "".
func checkMethod(m string) string {
	if !isToken(m) {
		return fmt.Sprintf("%q is not an HTTP method name", m)
	}
	if m != strings.ToUpper(m) {
		return fmt.Sprintf("%q must be written in upper case (%s)", m, strings.ToUpper(m))
	}
	return ""
}

// hostPortOnly is a host with an optional port and path and no scheme.
var hostPortOnly = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.\-]*(:[0-9]+)?(/.*)?$`)

// checkHTTPURL returns what is wrong with raw as an absolute http:// or
// https:// URL with a host, or "". A query is refused unless allowQuery.
func checkHTTPURL(raw string, allowQuery bool) string {
	if hostPortOnly.MatchString(raw) && !strings.Contains(raw, "//") {
		// host:port, a bare host or a path: Go's parser has only
		// confusing words for these ("first path segment in URL cannot
		// contain colon").
		return fmt.Sprintf("%q has no scheme; write http://%s or https://%s", raw, raw, raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Sprintf("%q is not a valid URL: %v", raw, err)
	}
	switch {
	case u.Scheme == "" || u.Opaque != "" || !strings.Contains(raw, "://"):
		return fmt.Sprintf("%q is not an absolute http:// or https:// URL (e.g. http://127.0.0.1:9001)", raw)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q has scheme %q; only http:// and https:// are allowed", raw, u.Scheme)
	case u.Hostname() == "":
		return fmt.Sprintf("%q has no host", raw)
	case u.Port() != "" && !validTargetPort(u.Port()):
		return fmt.Sprintf("%q has port %q; use a number from 1 to 65535", raw, u.Port())
	case !allowQuery && (u.RawQuery != "" || u.ForceQuery):
		return fmt.Sprintf("%q must not have a query", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Sprintf("%q must not have a fragment", raw)
	}
	return ""
}

// validTargetPort reports whether p is a port a client can dial (1-65535).
func validTargetPort(p string) bool {
	n, ok := parsePort(p)
	return ok && n > 0
}

// normalTarget returns a form of a valid target URL under which equal
// targets compare equal: lower-case host, default port and trailing slash
// removed.
func normalTarget(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	host := strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" && !(u.Scheme == "http" && p == "80" || u.Scheme == "https" && p == "443") {
		host = net.JoinHostPort(host, p)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return u.Scheme + "://" + host + strings.TrimSuffix(u.EscapedPath(), "/")
}

// checkHost returns what is wrong with a host to match requests on, or "".
// A host is a name or IP address, optionally with :PORT, and may start with
// the wildcard "*.".
func checkHost(h string) string {
	switch {
	case h == "":
		return "a host must not be empty"
	case strings.Contains(h, "://"):
		return fmt.Sprintf("%q must be a bare host name, without a scheme", h)
	case strings.ContainsAny(h, "/?#"):
		return fmt.Sprintf("%q must be a bare host name, without a path", h)
	}
	name := strings.TrimPrefix(h, "*.")
	if host, port, err := net.SplitHostPort(name); err == nil {
		if !validTargetPort(port) {
			return fmt.Sprintf("%q has port %q; use a number from 1 to 65535", h, port)
		}
		name = host
	}
	if strings.Contains(name, "*") {
		return fmt.Sprintf("%q is not a valid host; the only wildcard allowed is a leading \"*.\"", h)
	}
	if net.ParseIP(name) != nil {
		return ""
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || strings.ContainsFunc(label, func(r rune) bool {
			return !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) {
			return fmt.Sprintf("%q is not a valid host name (letters, digits, '-' and '.', optionally with :PORT)", h)
		}
	}
	return ""
}

// checkPathPrefix returns what is wrong with a path prefix, or "".
func checkPathPrefix(p string) string {
	if !strings.HasPrefix(p, "/") {
		return fmt.Sprintf("%q must start with \"/\"", p)
	}
	if strings.ContainsFunc(p, func(r rune) bool { return r == '?' || r == '#' || unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return fmt.Sprintf("%q must be a plain path, without spaces, query or fragment", p)
	}
	return ""
}

// checkPointer returns what is wrong with a JSON Pointer (RFC 6901), or "".
// The whole-document pointer "" is refused: it would cover everything.
func checkPointer(p string) string {
	if !strings.HasPrefix(p, "/") {
		return fmt.Sprintf("%q is not a JSON Pointer; it must start with \"/\", e.g. /meta/request_id", p)
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 == len(p) || p[i+1] != '0' && p[i+1] != '1') {
			return fmt.Sprintf("%q is not a valid JSON Pointer; '~' must be written ~0 and '/' inside a name ~1", p)
		}
	}
	return ""
}

// inf is +Inf, for range checks that must also refuse infinity.
var inf = math.Inf(1)

// inRange reports whether lo <= x <= hi; NaN is never in range.
func inRange(x, lo, hi float64) bool { return x >= lo && x <= hi }

// checkPercent reports a percentage at key of m outside 0..100.
func checkPercent(m *Meta, key string, x float64) error {
	if !inRange(x, 0, 100) {
		return m.problem(key, "%s is out of range; use a percentage from 0 to 100", fmtNum(x))
	}
	return nil
}

// checkRate reports a rate at key of m outside 0..1.
func checkRate(m *Meta, key string, x *float64) error {
	if x != nil && !inRange(*x, 0, 1) {
		return m.problem(key, "%s is out of range; use a fraction from 0 to 1 (0.05 = 5%%)", fmtNum(*x))
	}
	return nil
}

// nonNegative reports a negative count, size or duration at key of m.
func nonNegative(m *Meta, key string, x int64) error {
	if x < 0 {
		return m.problem(key, "%d must not be negative", x)
	}
	return nil
}

// nonNegativeDuration reports a negative duration at key of m.
func nonNegativeDuration(m *Meta, key string, d Duration) error {
	if d < 0 {
		return m.problem(key, "%s must not be negative", d)
	}
	return nil
}

// checkSticky checks a sticky key set in Go rather than parsed from YAML.
func checkSticky(m *Meta, key string, k StickyKey) error {
	if k.IsZero() {
		return nil
	}
	if _, err := ParseStickyKey(k.String()); err != nil {
		return m.problem(key, "%v", err)
	}
	return nil
}

// fmtNum formats a number as short as possible: 150, 0.5, NaN.
func fmtNum(x float64) string {
	if math.IsNaN(x) {
		return "NaN"
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// maxListed bounds how many names a message lists.
const maxListed = 20

// nameList formats names for a message: "v1, v2", "none", or the first
// maxListed names and how many more there are.
func nameList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	more := ""
	if len(names) > maxListed {
		more = fmt.Sprintf(" and %d more", len(names)-maxListed)
		names = names[:maxListed]
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n
		if n == "" || strings.ContainsFunc(n, func(r rune) bool {
			return r == ',' || r == '"' || unicode.IsSpace(r) || !unicode.IsPrint(r)
		}) {
			out[i] = strconv.Quote(n)
		}
	}
	return strings.Join(out, ", ") + more
}

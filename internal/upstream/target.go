package upstream

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
)

// target is one upstream base URL and its state.
type target struct {
	raw        string // as configured
	scheme     string
	host       string
	basePath   string // unescaped, no trailing slash; "" when none
	baseRaw    string // escaped basePath
	baseHasRaw bool   // basePath needs its escaped form (e.g. contains %2F)
	healthURL  string

	fails    atomic.Int64 // consecutive connect failures
	inflight atomic.Int64 // requests sent and not finished (max_connections)

	// Guarded by Pool.mu.
	ejected      bool
	ejectedUntil time.Time
	unhealthy    bool
	healthFails  int
	lastErr      string
	lastCheck    time.Time
}

// parseTarget validates one target URL for a pool of the given protocol.
func parseTarget(raw, protocol string) (*target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, ue.Err // the caller names the target already
		}
		return nil, err
	}
	switch u.Scheme {
	case "http", "https":
	case "tcp":
		return nil, errors.New("tcp targets are not http upstreams")
	default:
		return nil, fmt.Errorf("unsupported scheme %q (want http or https)", u.Scheme)
	}
	switch {
	case u.Opaque != "" || u.Hostname() == "":
		return nil, errors.New("missing host")
	case u.User != nil:
		return nil, errors.New("user info is not allowed")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, errors.New("query and fragment are not allowed")
	case protocol == config.ProtocolH2C && u.Scheme != "http":
		return nil, errors.New("protocol h2c needs an http target (use h2 for https)")
	case protocol == config.ProtocolH2 && u.Scheme != "https":
		return nil, errors.New("protocol h2 needs an https target (use h2c for cleartext)")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("invalid port %q", port)
		}
	}
	t := &target{raw: raw, scheme: u.Scheme, host: u.Host}
	if u.Path != "" && u.Path != "/" {
		t.basePath = trimSlash(u.Path)
		t.baseRaw = trimSlash(u.EscapedPath())
		t.baseHasRaw = u.RawPath != ""
	}
	return t, nil
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// apply points u at the target: scheme, host and base path.
func (t *target) apply(u *url.URL) {
	u.Scheme = t.scheme
	u.Host = t.host
	if t.basePath == "" {
		return
	}
	if u.RawPath == "" && !t.baseHasRaw {
		u.Path = joinPath(t.basePath, u.Path)
		return
	}
	esc := u.EscapedPath()
	u.Path = joinPath(t.basePath, u.Path)
	u.RawPath = joinPath(t.baseRaw, esc)
}

// joinPath appends p to base (which has no trailing slash).
func joinPath(base, p string) string {
	switch {
	case p == "":
		return base
	case p[0] == '/':
		return base + p
	default:
		return base + "/" + p
	}
}

// targetError is a RoundTrip failure: the transport's error with the pool and
// target named. It is a net.Error whose Timeout reports the wrapped error's.
type targetError struct {
	pool, target string
	err          error
}

func (e *targetError) Error() string {
	return "upstream " + strconv.Quote(e.pool) + " target " + e.target + ": " + e.err.Error()
}

func (e *targetError) Unwrap() error { return e.err }

// Timeout reports whether the wrapped error is a timeout.
func (e *targetError) Timeout() bool {
	var te interface{ Timeout() bool }
	return errors.As(e.err, &te) && te.Timeout()
}

// Temporary is part of net.Error; it is always false.
func (e *targetError) Temporary() bool { return false }

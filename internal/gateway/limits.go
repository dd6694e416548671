package gateway

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/proxy"
)

// Names of the limits that refuse requests: the `limit` label of
// turnout_limit_rejections_total. fallback_body (a body too large to keep
// for a retry), upstream_connections (every target at max_connections),
// service_in_flight (a service at services.NAME.limits.max_in_flight,
// known only once the request is routed) and response_header_bytes (an
// upstream answer's head over limits.max_response_header_bytes) are
// counted by the proxy's events and attempts.
const (
	LimitInFlight            = "in_flight"
	LimitHeaderBytes         = "header_bytes"
	LimitFraming             = "framing"
	LimitFallbackBody        = "fallback_body"
	LimitUpstreamConnections = "upstream_connections"
	LimitServiceInFlight     = proxy.LimitServiceInFlight
	// LimitBodyBytes, LimitBodyTimeout and LimitWriteTimeout are the client
	// bounds: a body over max_request_body_bytes (413), a body not in
	// within request_body_timeout (408), an answer not written within
	// write_timeout. The proxy counts those it sees mid-request.
	LimitBodyBytes           = proxy.LimitBodyBytes
	LimitBodyTimeout         = proxy.LimitBodyTimeout
	LimitWriteTimeout        = proxy.LimitWriteTimeout
	LimitResponseHeaderBytes = "response_header_bytes"
)

// Limits lists every limit name, for pre-created series.
var Limits = []string{LimitInFlight, LimitHeaderBytes, LimitFraming, LimitFallbackBody, LimitUpstreamConnections,
	LimitServiceInFlight, LimitBodyBytes, LimitBodyTimeout, LimitWriteTimeout, LimitResponseHeaderBytes}

// retryAfter is the Retry-After of a 503 for the in-flight cap, in seconds.
const retryAfter = 1

// limiter guards the data-plane handler: headers larger than
// max_header_bytes are answered 431 and requests beyond max_in_flight 503
// with Retry-After, before anything else runs. It is safe for concurrent
// use.
type limiter struct {
	next      http.Handler
	maxFlight int64 // 0: no cap
	maxHeader int   // 0: no check
	maxBody   int64 // 0: no cap
	bodyTime  time.Duration
	inFlight  atomic.Int64
	reject    func(limit string)
}

func newLimiter(next http.Handler, lim config.Limits, reject func(string)) *limiter {
	return &limiter{next: next, maxFlight: int64(lim.MaxInFlight),
		maxHeader: int(orDefaultSize(lim.MaxHeaderBytes, config.DefaultMaxHeaderBytes)),
		maxBody:   int64(lim.MaxRequestBodyBytes),
		bodyTime:  orDefault(lim.RequestBodyTimeout.D(), config.DefaultRequestBodyTimeout),
		reject:    reject}
}

func (l *limiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if l.maxHeader > 0 && headerBytes(r) > l.maxHeader {
		l.reject(LimitHeaderBytes)
		httperr.Write(w, http.StatusRequestHeaderFieldsTooLarge, "request headers exceed limits.max_header_bytes ("+strconv.Itoa(l.maxHeader)+" bytes)")
		return
	}
	if l.maxFlight > 0 {
		if l.inFlight.Add(1) > l.maxFlight {
			l.inFlight.Add(-1)
			l.reject(LimitInFlight)
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
			httperr.Write(w, http.StatusServiceUnavailable, "too many requests in flight (limits.max_in_flight); retry later")
			return
		}
		defer l.inFlight.Add(-1)
	}
	if r.Body != nil && r.Body != http.NoBody && !l.bound(w, r) {
		return
	}
	l.next.ServeHTTP(w, r)
}

// headerBytes is the size of r's request line and headers as written in
// HTTP/1.1 ("Name: value\r\n" per value).
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n + len(r.Host) + 8
}

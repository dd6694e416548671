package telemetry

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/route"
)

// Tracer returns a observe.Tracer that writes every request to the access
// log and delegates spans to next (nil when tracing is off). The proxy
// reports a finished request's method and path only to its Tracer, so the
// access log rides on that hook; without next it starts no span and
// injects nothing.
func (l *AccessLog) Tracer(next observe.Tracer) observe.Tracer {
	return &accessTracer{log: l, next: next, now: time.Now}
}

type accessTracer struct {
	log  *AccessLog
	next observe.Tracer
	now  func() time.Time
}

// accessSpan is the per-request state; it is pooled, as the proxy calls
// nothing on a span after End.
type accessSpan struct {
	t            *accessTracer
	inner        observe.RequestSpan
	method, path string
}

var accessSpans = sync.Pool{New: func() any { return new(accessSpan) }}

// StartRequest remembers r's method and path and starts next's span.
func (t *accessTracer) StartRequest(r *http.Request, d *route.Decision) (context.Context, observe.RequestSpan) {
	ctx := r.Context()
	s := accessSpans.Get().(*accessSpan)
	*s = accessSpan{t: t, method: r.Method, path: r.URL.Path}
	if t.next != nil {
		ctx, s.inner = t.next.StartRequest(r, d)
	}
	return ctx, s
}

// StartAttempt starts next's attempt span, if any.
func (s *accessSpan) StartAttempt(out *http.Request, service, version, upstream string) observe.AttemptSpan {
	if s.inner == nil {
		return nil
	}
	return s.inner.StartAttempt(out, service, version, upstream)
}

// TraceID is next's trace id, or "".
func (s *accessSpan) TraceID() string {
	if s.inner == nil {
		return ""
	}
	return s.inner.TraceID()
}

// End ends next's span and queues the access log line.
func (s *accessSpan) End(res *observe.Result) {
	if s.inner != nil {
		s.inner.End(res)
	}
	e := accessEntry{at: s.t.now(), method: s.method, path: s.path, status: res.Status, duration: res.Duration,
		upstream: res.Upstream, traceID: res.TraceID, fellBack: res.FellBack}
	if d := res.Decision; d != nil {
		if d.Service != nil {
			e.service = d.Service.Name
		}
		if d.Reason != route.ReasonNone {
			e.reason = d.Reason.String()
		}
	}
	if res.Served != nil {
		e.version = res.Served.Name
	}
	s.t.log.add(&e)
	*s = accessSpan{}
	accessSpans.Put(s)
}

// appendAccessLine appends e as one JSON object and a newline.
func appendAccessLine(b []byte, e *accessEntry) []byte {
	b = append(b, `{"time":"`...)
	b = e.at.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","method":`...)
	b = appendJSONString(b, e.method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, e.path)
	b = append(b, `,"service":`...)
	b = appendJSONString(b, e.service)
	b = append(b, `,"version":`...)
	b = appendJSONString(b, e.version)
	b = append(b, `,"reason":`...)
	b = appendJSONString(b, e.reason)
	b = append(b, `,"fallback":`...)
	b = strconv.AppendBool(b, e.fellBack)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendFloat(b, e.duration.Seconds(), 'f', -1, 64)
	b = append(b, `,"upstream":`...)
	b = appendJSONString(b, e.upstream)
	b = append(b, `,"trace_id":`...)
	b = appendJSONString(b, e.traceID)
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028
// and U+2029 escaped so the line is also valid JavaScript.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0 // s[start:i] is pending, needing no escape
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if (r != utf8.RuneError || size != 1) && r != '\u2028' && r != '\u2029' {
				i += size
				continue
			}
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, `\u202`...)
				b = append(b, hex[r&15])
			}
			i += size
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

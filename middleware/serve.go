package middleware

import (
	"net/http"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/route"
)

// ServeHTTP routes one request with the live table: Turnout's own answers
// (400, 404, 406, 410, 308) are written as the proxy writes them; any other
// request reaches the chosen version's handler with X-Served-Version and
// the lifecycle headers already set on the response, X-Turnout-Version set
// on the request, the path's version segment stripped when the service
// strips it, and the decision in its context (VersionFrom). The fault the
// decision carries (`fault:` of the version or the matched rule) is
// injected first, as the proxy injects it: a delay holds the request, an
// abort answers it without calling the handler. The answer's status and
// latency feed the stats the rollout engine analyses.
func (m *Middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{start: m.now()}
	x.res.Request = r
	var bodyErr error
	x.d, bodyErr = m.decideHTTP(r)
	d := &x.d
	if d.Status == http.StatusNotFound && m.next != nil {
		m.next.ServeHTTP(w, r)
		return
	}
	m.obs.Decided(d)
	if d.Status != 0 {
		d.WriteAnswer(w, r)
		m.report(x, false, d.Status, nil)
		return
	}
	if bodyErr != nil { // read to decide (body.go)
		m.failBody(w, r, x, bodyErr)
		return
	}
	h := m.handler(d.Service.Name, d.Version.Name)
	if h == nil {
		m.log.Warn("no handler for the chosen version", "service", d.Service.Name, "version", d.Version.Name)
		httperr.Write(w, http.StatusNotImplemented, "no handler for version "+d.Version.Name+" of "+d.Service.Name+" in this process")
		m.report(x, true, http.StatusNotImplemented, nil)
		return
	}
	d.SetServedHeaders(w.Header(), r, d.Version)
	if d.Fault != nil && m.injectFault(x, w, r) {
		return
	}
	r.Header["X-Turnout-Version"] = d.Version.NameHeader()
	in := r.WithContext(x.context(r.Context(), r.Header, nil))
	if d.Path != r.URL.Path {
		u := *r.URL
		u.Path, u.RawPath = d.Path, ""
		in.URL = &u
	}
	sw := writers.Get().(*statusWriter)
	sw.ResponseWriter, sw.status = w, 0
	defer func() { // a panicking handler is its version's failure
		if p := recover(); p != nil {
			m.report(x, true, http.StatusInternalServerError, nil)
			panic(p)
		}
	}()
	h.ServeHTTP(sw, in)
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	sw.ResponseWriter = nil
	writers.Put(sw)
	m.report(x, true, status, nil)
}

// exchange is one routed request or call: the decision, what is reported
// about it and the decision handlers see in their context, in one
// allocation.
type exchange struct {
	start time.Time
	d     route.Decision
	res   observe.Result
	att   observe.Attempt
	dec   decided
}

// report tells the observers how x ended. A served request (a handler or
// implementation answered) is an attempt of its version in the stats the
// rollout engine analyses: a 5xx is a failure, as an upstream's is behind
// the proxy.
func (m *Middleware) report(x *exchange, served bool, status int, err error) {
	dur := m.now().Sub(x.start)
	if served {
		v := x.d.Version
		x.att = observe.Attempt{Service: x.d.Service.Name, Version: v.Name, Upstream: v.Upstream, Status: status, Duration: dur}
		m.obs.Attempted(&x.att)
		x.res.Served = v
	}
	x.res.Decision, x.res.Status, x.res.Err, x.res.Duration = &x.d, status, err, dur
	m.obs.Finished(&x.res)
}

// statusWriter remembers the status a handler answered. It passes Flush
// through and unwraps for http.ResponseController.
type statusWriter struct {
	http.ResponseWriter
	status int
}

var writers = sync.Pool{New: func() any { return new(statusWriter) }}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends what was written so far.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the underlying writer (for http.ResponseController).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

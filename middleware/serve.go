package middleware

import (
	"net/http"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/proxy"
	"github.com/turnout-gw/turnout/internal/route"
)

// ServeHTTP routes one request with the live table: Turnout's own answers
// (400, 404, 406, 410, 308) are written as the proxy writes them; any other
// request reaches the chosen version's handler with X-Served-Version and
// the lifecycle headers already set on the response, X-Turnout-Version set
// on the request, the path's version segment stripped when the service
// strips it, and the decision in its context (VersionFrom). The answer's
// status and latency feed the stats the rollout engine analyses.
func (m *Middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := m.now()
	d := m.table().Decide(r)
	if d.Status == http.StatusNotFound && m.next != nil {
		m.next.ServeHTTP(w, r)
		return
	}
	m.obs.Decided(&d)
	res := proxy.Result{Decision: &d}
	if d.Status != 0 {
		res.Status = d.Status
		d.WriteAnswer(w, r)
		m.finish(&res, start)
		return
	}
	h := m.handler(d.Service.Name, d.Version.Name)
	if h == nil {
		res.Status = http.StatusNotImplemented
		m.log.Warn("no handler for the chosen version", "service", d.Service.Name, "version", d.Version.Name)
		httperr.Write(w, http.StatusNotImplemented, "no handler for version "+d.Version.Name+" of "+d.Service.Name+" in this process")
		m.attempt(&d, res.Status, start)
		m.finish(&res, start)
		return
	}
	d.SetServedHeaders(w.Header(), r, d.Version)
	r.Header["X-Turnout-Version"] = d.Version.NameHeader()
	in := r.WithContext(withDecision(r.Context(), &d, r.Header, nil))
	if d.Path != r.URL.Path {
		u := *r.URL
		u.Path, u.RawPath = d.Path, ""
		in.URL = &u
	}
	sw := writers.Get().(*statusWriter)
	sw.ResponseWriter, sw.status = w, 0
	func() {
		defer func() { // a panicking handler is its version's failure
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			if p := recover(); p != nil {
				sw.status = http.StatusInternalServerError
				m.attempt(&d, sw.status, start)
				res.Served, res.Status = d.Version, sw.status
				m.finish(&res, start)
				panic(p)
			}
		}()
		h.ServeHTTP(sw, in)
	}()
	res.Served, res.Status = d.Version, sw.status
	sw.ResponseWriter = nil
	writers.Put(sw)
	m.attempt(&d, res.Status, start)
	m.finish(&res, start)
}

// attempt records the handler's answer in the stats the rollout engine
// analyses: a 5xx is a failure, as an upstream's is behind the proxy.
func (m *Middleware) attempt(d *route.Decision, status int, start time.Time) {
	m.obs.Attempted(&proxy.Attempt{Service: d.Service.Name, Version: d.Version.Name, Upstream: d.Version.Upstream,
		Status: status, Duration: m.now().Sub(start)})
}

// finish reports the request to the metrics.
func (m *Middleware) finish(res *proxy.Result, start time.Time) {
	res.Duration = m.now().Sub(start)
	m.obs.Finished(res)
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

package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/adapt"

	"github.com/turnout-gw/turnout/internal/fault"
	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/pipeline"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/snapshot"
)

// Handler is the data-plane http.Handler. It is safe for concurrent use and
// must not be copied after New.
type Handler struct {
	load func() *snapshot.Snapshot
	obs  observe.Observer
	log  *slog.Logger
	now  func() time.Time
	rp   *httputil.ReverseProxy
	// tracer is nil when tracing is off.
	tracer observe.Tracer
	// taps are the hooks of WithMirror and WithTap.
	taps []pipeline.Tap
	// events, rnd and sleep serve fault injection and limits (fault.go).
	events Events
	rnd    func() uint64
	sleep  func(ctx context.Context, d time.Duration) error
	// adaptLogged is when an adapter's failure was last logged (UnixNano).
	adaptLogged atomic.Int64
}

// Option configures a Handler.
type Option func(*Handler) error

// WithObserver receives every decision, upstream attempt and result.
func WithObserver(o observe.Observer) Option {
	return func(h *Handler) error {
		if o == nil {
			return errors.New("proxy: nil observer")
		}
		h.obs = o
		return nil
	}
}

// WithTracer traces every proxied request (default: none): a server span
// per request and a client span per upstream attempt.
func WithTracer(t observe.Tracer) Option {
	return func(h *Handler) error {
		if t == nil {
			return errors.New("proxy: nil tracer")
		}
		h.tracer = t
		return nil
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(h *Handler) error {
		if l == nil {
			return errors.New("proxy: nil logger")
		}
		h.log = l
		return nil
	}
}

// WithClock injects the clock used for latencies (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(h *Handler) error {
		if now == nil {
			return errors.New("proxy: nil clock")
		}
		h.now = now
		return nil
	}
}

// New returns a Handler that serves each request with the Snapshot load
// returns at the moment the request arrives.
func New(load func() *snapshot.Snapshot, opts ...Option) (*Handler, error) {
	if load == nil {
		return nil, errors.New("proxy: nil snapshot loader")
	}
	h := &Handler{load: load, obs: observe.Funcs{}, log: slog.Default(), now: time.Now,
		events: EventFuncs{}, rnd: defaultRand, sleep: fault.Sleep}
	for _, o := range opts {
		if err := o(h); err != nil {
			return nil, err
		}
	}
	h.rp = &httputil.ReverseProxy{
		Rewrite:        h.rewrite,
		Transport:      transport{h},
		ModifyResponse: h.modifyResponse,
		ErrorHandler:   h.errorHandler,
		BufferPool:     bufferPool{},
		ErrorLog:       slog.NewLogLogger(h.log.Handler(), slog.LevelDebug),
	}
	return h, nil
}

// exchange is the per-request state shared by the ReverseProxy callbacks.
type exchange struct {
	snap     *snapshot.Snapshot
	in       *http.Request
	start    time.Time
	d        route.Decision
	served   *route.Version
	upstream string
	fellBack bool
	status   int
	err      error
	span     observe.RequestSpan // nil when tracing is off
	// adapt is the adapter's programs for this request (adapt.go), nil
	// when the version is not adapted.
	adapt *adapt.Pair

	// Per-request values kept here, in the one allocation of the
	// exchange, rather than in allocations of their own.
	att      observe.Attempt // the attempt being reported
	res      observe.Result  // the result being reported
	retryURL url.URL         // the outbound URL before the pool rewrote it
	fwdFor   [1]string       // X-Forwarded-For's value
	fwdHost  [1]string       // X-Forwarded-Host's value

	// The direct path's state (see serveDirect).
	w      http.ResponseWriter
	url    url.URL               // the outbound URL
	trace  httptrace.ClientTrace // Got1xxResponse bound to this exchange once
	mu     sync.Mutex            // guards rtDone against a late 1xx callback
	rtDone bool

	// held is set when an upstream transport may still read the outbound
	// request after its round trip returned (upstream.Pool.Send: net/http's
	// HTTP/2 client, for one) and the request points into this exchange
	// (URL, X-Forwarded-* values, the trace; see owns), so the exchange is
	// then left to the garbage collector instead of going back to the pool.
	held bool
}

type exchangeKey struct{}

var exchanges = sync.Pool{New: func() any {
	x := new(exchange)
	x.trace.Got1xxResponse = x.got1xx
	return x
}}

// reset readies a pooled exchange for a new request.
func (x *exchange) reset(snap *snapshot.Snapshot, r *http.Request, start time.Time) {
	trace := x.trace
	*x = exchange{snap: snap, in: r, start: start, trace: trace}
}

// ServeHTTP routes and proxies one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	snap := h.load()
	x := exchanges.Get().(*exchange)
	x.reset(snap, r, start)
	connect := r.Method == http.MethodConnect
	var bodyErr error
	if !connect { // a CONNECT is never routed
		var in route.Input
		in, bodyErr = gather(snap, r)
		x.d = snap.Trust.DecideWith(snap.Table, r, in) // a nil policy trusts every request
	}
	defer x.recycle()
	h.obs.Decided(&x.d)

	ctx := r.Context()
	if h.tracer != nil {
		ctx, x.span = h.tracer.StartRequest(r, &x.d)
	}
	held, admitted := snap.Flights.Take(&x.d)
	if held != nil {
		defer held.Add(-1)
	}
	abort := false
	switch {
	case connect:
		x.status = http.StatusMethodNotAllowed
		httperr.Write(w, x.status, "CONNECT is not served: Turnout is a reverse proxy, not a forward proxy or tunnel")
	case x.d.Status != 0:
		h.answer(w, r, x)
	case bodyErr != nil: // the client's body failed while it was read to decide
		abort = h.fail(w, r, x, bodyErr)
	case !admitted:
		h.refuseBusy(w, x)
	case direct(r):
		abort = h.serveDirect(w, r, x, ctx)
	default:
		ctx = context.WithValue(ctx, exchangeKey{}, x)
		h.rp.ServeHTTP(w, r.WithContext(ctx))
	}
	res := &x.res
	*res = observe.Result{
		Decision: &x.d, Served: x.served, Upstream: x.upstream, FellBack: x.fellBack,
		Status: x.status, Err: x.err, Duration: h.now().Sub(start), Request: r,
	}
	if x.span != nil {
		res.TraceID = x.span.TraceID()
		x.span.End(res)
	}
	h.obs.Finished(res)
	if abort {
		panic(http.ErrAbortHandler) // the client must not take a cut body for a whole one
	}
}

// answer writes Turnout's own answers (404, 400, 406, 410 and 308) through
// the decision, as the in-process middleware does.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, x *exchange) {
	x.status = x.d.Status
	x.d.WriteAnswer(w, r)
}

func (h *Handler) rewrite(pr *httputil.ProxyRequest) {
	x := pr.In.Context().Value(exchangeKey{}).(*exchange)
	out := pr.Out
	if x.d.Path != pr.In.URL.Path {
		out.URL.Path = x.d.Path
		out.URL.RawPath = ""
	}
	if xff, ok := pr.In.Header["X-Forwarded-For"]; ok {
		out.Header["X-Forwarded-For"] = xff
	}
	pr.SetXForwarded()
	dropUnforwarded(out.Header, isGRPC(pr.In))
}

func (h *Handler) modifyResponse(resp *http.Response) error {
	x := resp.Request.Context().Value(exchangeKey{}).(*exchange)
	h.prepare(x, resp)
	if isGRPC(x.in) {
		resp.Body = &grpcBody{ReadCloser: resp.Body, resp: resp, h: h, x: x, r: x.in}
	}
	return nil
}

// prepare records the upstream's answer and adds Turnout's headers to it:
// X-Served-Version and the served version's lifecycle headers.
func (h *Handler) prepare(x *exchange, resp *http.Response) {
	x.status = resp.StatusCode
	x.d.SetServedHeaders(resp.Header, x.in, x.served)
}

func (h *Handler) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	h.fail(w, r, r.Context().Value(exchangeKey{}).(*exchange), err)
}

// fail answers a request whose upstream exchange failed before an answer
// arrived: 502, 504, the client's own failure (400, 408, 413: a
// *httperr.ClientError), or nothing for a client that went away (499 in
// the books); gRPC calls get a gRPC status. It reports whether the client
// went away, so that the direct path can abort the connection.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, x *exchange, err error) (gone bool) {
	status := httperr.StatusOf(r.Context(), err)
	x.status, x.err = status, err
	if status == httperr.StatusClientClosed {
		h.log.Info("client went away", "service", x.d.Service.Name, "version", x.d.Version.Name,
			"path", r.URL.Path, "status", status, "error", err)
		return true
	}
	msg := "upstream " + x.upstream + " failed: " + err.Error()
	var ae *adapt.Error
	isAdapt := errors.As(err, &ae)
	if httperr.ClientCaused(err) {
		switch {
		case isAdapt: // an adapter's refusal is no limit's
		case status == http.StatusRequestEntityTooLarge:
			h.events.Limit(LimitBodyBytes)
		case status == http.StatusRequestTimeout:
			h.events.Limit(LimitBodyTimeout)
		}
		h.log.Info("client request failed", "service", x.d.Service.Name, "version", x.d.Version.Name,
			"path", r.URL.Path, "status", status, "error", err)
		msg = err.Error()
		if r.ProtoMajor == 1 {
			// What is left of a broken body is not waited for (over HTTP/2
			// this would end every stream of the connection).
			w.Header().Set("Connection", "close")
		}
	} else if !isAdapt { // failAdapt logs an adapter's own failures, sampled
		h.log.Warn("upstream failed", "service", x.d.Service.Name, "version", x.d.Version.Name,
			"upstream", x.upstream, "status", status, "error", err)
	}
	if isGRPC(r) {
		writeGRPCError(w, h.grpcCode(r, x, status), msg)
		return false
	}
	if isAdapt {
		h.failAdapt(w, x, status, err, ae)
		return false
	}
	httperr.Write(w, status, msg)
	return false
}

// bufferPool lends 32 KiB copy buffers to the ReverseProxy.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// smallBuffer is the size of the buffers that copy bodies known to be at
// most that long: most API answers.
const smallBuffer = 4 << 10

var smallBuffers = sync.Pool{New: func() any { b := make([]byte, smallBuffer); return &b }}

func (bufferPool) Get() []byte  { return *(buffers.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

// drain discards what is left of a body we are abandoning so its connection
// can be reused, up to a limit.
func drain(rc io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, rc, 64<<10)
	_ = rc.Close()
}

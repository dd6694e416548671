package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/snapshot"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/store"
)

// Reloader reloads the configuration file; it returns the config errors.
type Reloader interface {
	Reload(source string) error
}

// ReloaderFunc adapts a function to Reloader.
type ReloaderFunc func(source string) error

// Reload calls f.
func (f ReloaderFunc) Reload(source string) error { return f(source) }

// API is the admin HTTP handler. Construct it with New; it is safe for
// concurrent use.
type API struct {
	mux      *http.ServeMux
	tokens   func() *Tokens
	hosts    func() []string
	limiter  *authLimiter
	reload   Reloader
	ready    func() bool
	inSync   func() error
	log      *slog.Logger
	engine   *rollout.Engine
	events   store.Store
	snapshot func() *snapshot.Snapshot
	stats    *stats.Registry
	qnTarget func(upstream string) []TargetView
	// lifecycle serves the retirement schedules (nil: not registered).
	lifecycle Lifecycle
	// recent is this member's usage of a version (nil: not registered).
	recent func(service, version string, window time.Duration) (uint64, []string)
}

// Options wire the API to the gateway.
type Options struct {
	// Token returns the single operator token mutations need ("" = no
	// token); used when Tokens is nil.
	Token func() string
	// Tokens returns the tokens the API accepts now (nil: those of Token).
	Tokens func() *Tokens
	// Now is the clock of the failed-authentication limiter (default
	// time.Now).
	Now func() time.Time
	// AuthBurst failed authentications from one client IP are allowed in
	// a row, then one per AuthRefill; more are answered 429. Zero values
	// mean DefaultAuthBurst and DefaultAuthRefill.
	AuthBurst  int
	AuthRefill time.Duration
	// Hosts returns the names, besides IP addresses and localhost, by
	// which clients may address the admin port (admin.hosts and a name in
	// admin.listen); requests naming another host are refused (nil: none).
	Hosts  func() []string
	Reload Reloader
	// Ready reports readiness for /readyz (nil = always ready).
	Ready func() bool
	Log   *slog.Logger
	// Engine serves /api/v1/rollouts and its actions (nil = not registered).
	Engine *rollout.Engine
	// Events serves the audit log at /api/v1/events (nil = not registered).
	Events store.Store
	// Snapshot serves /api/v1/services from the live routing table and
	// pools (nil = not registered).
	Snapshot func() *snapshot.Snapshot
	// Stats serves the dashboard's time series at /api/v1/series (nil =
	// not registered).
	Stats *stats.Registry
	// QNTargets reports the passive health of a tcp:// upstream's targets
	// in /api/v1/services (nil, or a nil answer: every target shown
	// healthy).
	QNTargets func(upstream string) []TargetView
	// Metrics serves the Prometheus metrics at /metrics (nil = not
	// registered).
	Metrics http.Handler
	// Contracts serves the OpenAPI contracts and deprecated usage (nil =
	// not registered).
	Contracts Contracts
	// Usage serves who calls each version at /api/v1/usage/{service}
	// (nil = not registered).
	Usage http.HandlerFunc
	// Diffs serves the mirror's comparisons at /api/v1/diffs/{service}
	// (nil = not registered: the gateway's mirror only).
	Diffs http.HandlerFunc
	// Cluster reads the fleet for /api/v1/cluster (nil: no cluster block,
	// answered 404 saying so); an error is answered 503.
	Cluster func(ctx context.Context) (any, error)
	// ClusterSync says whether a fleet member is in sync with the fleet
	// (nil) or why not, for /readyz, which stays ready: the member serves
	// the last state it saw (nil func: no cluster block).
	ClusterSync func() error
	// Lifecycle serves /api/v1/lifecycle and the schedule fields of
	// /api/v1/services (nil = not registered).
	Lifecycle Lifecycle
	// RecentUsage serves this member's usage of a version to the fleet's
	// leader at /api/v1/internal/usage, token-guarded like
	// /api/v1/internal/stats (nil = not registered).
	RecentUsage func(service, version string, window time.Duration) (uint64, []string)
}

// Contracts serves the live configuration's OpenAPI contracts: the list,
// one service's documents and report, and its deprecated usage.
type Contracts interface {
	ServeList(w http.ResponseWriter, r *http.Request)
	ServeService(w http.ResponseWriter, r *http.Request)
	ServeDeprecations(w http.ResponseWriter, r *http.Request)
}

// New builds the admin API.
func New(o Options) *API {
	a := &API{mux: http.NewServeMux(), tokens: o.Tokens, hosts: o.Hosts, reload: o.Reload, ready: o.Ready, log: o.Log,
		engine: o.Engine, events: o.Events, snapshot: o.Snapshot, stats: o.Stats, qnTarget: o.QNTargets, lifecycle: o.Lifecycle, recent: o.RecentUsage,
		limiter: newAuthLimiter(o.Now, o.AuthBurst, o.AuthRefill), inSync: o.ClusterSync}
	if a.tokens == nil {
		token := o.Token
		if token == nil {
			token = func() string { return "" }
		}
		a.tokens = func() *Tokens { return NewTokens(nil, token()) }
	}
	if a.hosts == nil {
		a.hosts = func() []string { return nil }
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.routes(o)
	return a
}

// handle registers a read-only endpoint; it needs a viewer or operator
// token when a tokens file is configured.
func (a *API) handle(pattern string, h http.HandlerFunc) {
	a.mux.HandleFunc(pattern, a.guard(h, false))
}

// mutation registers an endpoint that needs an operator token when any
// token is configured.
func (a *API) mutation(pattern string, h http.HandlerFunc) {
	a.mux.HandleFunc(pattern, a.guard(h, true))
}

// internal registers an endpoint for the other members of a fleet: it
// always needs a token (guardInternal).
func (a *API) internal(pattern string, h http.HandlerFunc) {
	a.mux.HandleFunc(pattern, a.guardInternal(h))
}

// handlePublic registers an endpoint open to everyone (the dashboard's
// static files) that names the admin port by an allowed host.
func (a *API) handlePublic(pattern string, h http.HandlerFunc) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !a.misdirectedHost(w, r) {
			h(w, r)
		}
	})
}

// handleProbe registers an endpoint open to everyone under any host name
// (/healthz, /readyz: load balancers and probes address the port by names
// of their own, and the answers say nothing).
func (a *API) handleProbe(pattern string, h http.HandlerFunc) { a.mux.HandleFunc(pattern, h) }

// ServeHTTP serves the admin API. Requests no pattern matches get the
// mux's status (404, or 405 with Allow) as a JSON error.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := a.mux.Handler(r)
	if pattern != "" {
		a.mux.ServeHTTP(w, r)
		return
	}
	if a.misdirectedHost(w, r) {
		return
	}
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if allow := rec.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	if rec.status == 0 {
		rec.status = http.StatusNotFound
	}
	msg := strings.ToLower(http.StatusText(rec.status))
	WriteError(w, rec.status, fmt.Errorf("%s: %s %s", msg, r.Method, r.URL.Path))
}

// headerRecorder keeps the status and headers a handler writes and drops
// its body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }

func (h *headerRecorder) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *headerRecorder) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return len(b), nil
}

// reloadResult is the body of POST /api/v1/reload.
type reloadResult struct {
	Status string   `json:"status"`
	Errors []string `json:"errors,omitempty"`
}

func (a *API) handleReload(w http.ResponseWriter, r *http.Request) {
	if a.reload == nil {
		WriteError(w, http.StatusNotImplemented, errors.New("reload is not available"))
		return
	}
	if err := a.reload.Reload(actor(r)); err != nil {
		res := reloadResult{Status: "rejected"}
		for _, e := range config.Flatten(err) {
			res.Errors = append(res.Errors, e.Error())
		}
		writeJSON(w, http.StatusUnprocessableEntity, res)
		return
	}
	writeJSON(w, http.StatusOK, reloadResult{Status: "applied"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err)
		return
	}
	httperr.WriteJSON(w, status, append(b, '\n'))
}

// WriteError answers a JSON error {"error": msg, "status": code}.
func WriteError(w http.ResponseWriter, status int, err error) {
	httperr.Write(w, status, err.Error())
}

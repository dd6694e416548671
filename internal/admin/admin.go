package admin

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/httperr"
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
	mux    *http.ServeMux
	token  func() string
	reload Reloader
	ready  func() bool
	log    *slog.Logger
}

// Options wire the API to the gateway.
type Options struct {
	// Token returns the bearer token mutations need ("" = no token).
	Token  func() string
	Reload Reloader
	// Ready reports readiness for /readyz (nil = always ready).
	Ready func() bool
	Log   *slog.Logger
}

// New builds the admin API.
func New(o Options) *API {
	a := &API{mux: http.NewServeMux(), token: o.Token, reload: o.Reload, ready: o.Ready, log: o.Log}
	if a.token == nil {
		a.token = func() string { return "" }
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	a.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if a.ready != nil && !a.ready() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	a.Mutation("POST /api/v1/reload", a.handleReload)
	return a
}

// Handle registers a read-only endpoint.
func (a *API) Handle(pattern string, h http.HandlerFunc) { a.mux.HandleFunc(pattern, h) }

// Mutation registers an endpoint that needs the bearer token.
func (a *API) Mutation(pattern string, h http.HandlerFunc) {
	a.mux.HandleFunc(pattern, a.authorize(h))
}

// ServeHTTP serves the admin API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// authorize requires "Authorization: Bearer <token>" when a token is set,
// compared in constant time.
func (a *API) authorize(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if want := a.token(); want != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(want)) != 1 {
				a.log.Warn("admin: unauthorized mutation", "path", r.URL.Path, "remote", r.RemoteAddr)
				w.Header().Set("WWW-Authenticate", `Bearer realm="turnout"`)
				WriteError(w, http.StatusUnauthorized, errors.New("missing or invalid bearer token"))
				return
			}
		}
		h(w, r)
	}
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
	if err := a.reload.Reload("api"); err != nil {
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

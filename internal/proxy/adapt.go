package proxy

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/turnout-gw/turnout/internal/adapt"
	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/route"
)

// Adapting a version served by another's upstream (versions.NAME.served_by
// and adapt): adapt.Adapter's Request and Response rewrite the request and
// its answer (internal/adapt/http.go says how bodies are read, bounded and
// refused); the mirror adapts its copies with the same two calls. A
// program's failure is Turnout's, not the client's: it is answered 502
// with {error, version, stage, status}, and counted against the version as
// a failed attempt (stats, analysis, turnout_adapt_failures_total).

// adaptRequest rewrites out for v's adapter and keeps the programs of the
// request's operation for its answer. It returns the error to answer
// with: a *httperr.ClientError for the client's body, an *httperr.Error
// (502) wrapping an *adapt.Error for the program's failure.
func (h *Handler) adaptRequest(x *exchange, v *route.Version, out *http.Request) error {
	a := v.Adapter
	if Streamed(x.in) {
		if a.Pass {
			return nil // an upgrade or gRPC call streams through, unadapted both ways
		}
		return a.Refuse(adapt.StageRequest, http.StatusUnsupportedMediaType, "a stream (protocol upgrade or gRPC) cannot be adapted")
	}
	pair, err := a.Request(out)
	x.adapt = pair
	if err != nil && !httperr.ClientCaused(err) {
		x.served, x.upstream = v, v.Upstream
		x.att = observe.Attempt{Service: x.d.Service.Name, Version: v.Name, Upstream: v.Upstream, Err: err}
		h.obs.Attempted(&x.att)
	}
	return err
}

// adaptResponse rewrites resp, v's answer, with the programs adaptRequest
// kept. On failure resp's body is closed and the error (502) returned.
func (h *Handler) adaptResponse(x *exchange, v *route.Version, resp *http.Response) (*http.Response, error) {
	return v.Adapter.Response(x.in.Context(), x.adapt, x.in.Method, resp)
}

// adaptBody is the JSON answer of a failed adaptation.
type adaptBody struct {
	Error   string `json:"error"`
	Version string `json:"version"`
	Stage   string `json:"stage"`
	Status  int    `json:"status"`
}

// failAdapt answers a failed adaptation as JSON naming the version and
// stage, logging Turnout's own failures (at most one a second).
func (h *Handler) failAdapt(w http.ResponseWriter, x *exchange, status int, err error, ae *adapt.Error) {
	if !httperr.ClientCaused(err) {
		if now := h.now().UnixNano(); now-h.adaptLogged.Load() >= int64(time.Second) {
			h.adaptLogged.Store(now)
			h.log.Warn("adapter failed", "service", x.d.Service.Name, "version", ae.Version, "stage", ae.Stage,
				"path", x.in.URL.Path, "status", status, "error", ae.Err)
		}
	}
	b, _ := json.Marshal(adaptBody{Error: ae.Error(), Version: ae.Version, Stage: string(ae.Stage), Status: status})
	httperr.WriteJSON(w, status, append(b, '\n'))
}

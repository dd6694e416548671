package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"

	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/store"
)

// MaxBodyBytes bounds the body of every JSON request the admin API reads.
const MaxBodyBytes = 64 << 10

// rolloutList is the body of GET /api/v1/rollouts.
type rolloutList struct {
	Rollouts []rollout.Status `json:"rollouts"`
}

// WeightRequest is the body of PUT /api/v1/rollouts/{service}/weight.
type WeightRequest struct {
	Weight *float64 `json:"weight"`
}

func (a *API) handleRollouts(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, rolloutList{Rollouts: a.engine.Statuses()})
}

func (a *API) handleRollout(w http.ResponseWriter, r *http.Request) {
	service := r.PathValue("service")
	st, err := a.engine.Status(service)
	a.answerRollout(w, service, st, err)
}

// rolloutActions are the POST /api/v1/rollouts/{service}/{action} the
// engine takes.
var rolloutActions = []string{"promote", "pause", "resume", "abort"}

// handleAction serves POST /api/v1/rollouts/{service}/name.
func (a *API) handleAction(name string) http.HandlerFunc {
	act := map[string]func(service, actor string) (rollout.Status, error){
		"promote": a.engine.Promote,
		"pause":   a.engine.Pause,
		"resume":  a.engine.Resume,
		"abort":   a.engine.Abort,
	}[name]
	return func(w http.ResponseWriter, r *http.Request) {
		service := r.PathValue("service")
		st, err := act(service, actor(r))
		a.answerRollout(w, service, st, err)
	}
}

func (a *API) handleWeight(w http.ResponseWriter, r *http.Request) {
	service := r.PathValue("service")
	var req WeightRequest
	if status, err := DecodeJSON(w, r, &req); err != nil {
		WriteError(w, status, err)
		return
	}
	if req.Weight == nil {
		WriteError(w, http.StatusBadRequest, errors.New(`request body needs "weight", a percentage from 0 to 100`))
		return
	}
	wt := *req.Weight
	if math.IsNaN(wt) || wt < 0 || math.Signbit(wt) || wt > 100 { // -0 is not a weight either
		WriteError(w, http.StatusBadRequest, fmt.Errorf("weight %v is outside 0..100", wt))
		return
	}
	st, err := a.engine.SetWeight(service, wt, actor(r))
	a.answerRollout(w, service, st, err)
}

// answerRollout writes st, or err mapped to its status: no rollout → 404,
// a refused transition or a write the fleet did not take → 409, anything else → 500.
func (a *API) answerRollout(w http.ResponseWriter, service string, st rollout.Status, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, st)
	case errors.Is(err, rollout.ErrNoRollout):
		WriteError(w, http.StatusNotFound, a.noRollout(service))
	case errors.Is(err, rollout.ErrTransition), errors.Is(err, store.ErrNotWritten):
		// Not written: the fleet's state moved on since this member read
		// it (read it again), or the fleet's store is unreachable.
		WriteError(w, http.StatusConflict, fmt.Errorf("%s: %w", service, err))
	default:
		a.log.Error("admin: rollout action failed", "service", service, "error", err)
		WriteError(w, http.StatusInternalServerError, fmt.Errorf("%s: %w", service, err))
	}
}

// noRollout tells an unknown service from a service without a rollout when
// the routing table is available.
func (a *API) noRollout(service string) error {
	if err := a.knownService(service); err != nil {
		return err
	}
	return fmt.Errorf("service %q has no rollout", service)
}

// DecodeJSON decodes the request body (at most MaxBodyBytes) into v,
// rejecting unknown fields and trailing data. On failure it returns the
// status to answer with: 413 for a body too large, 400 otherwise.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) (int, error) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			var mbe *http.MaxBytesError
			if errors.As(extra, &mbe) {
				err = extra
			} else {
				err = errors.New("unexpected data after the JSON object")
			}
		}
	}
	if err == nil {
		return 0, nil
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Errorf("request body larger than %d bytes", mbe.Limit)
	case errors.Is(err, io.EOF):
		return http.StatusBadRequest, errors.New("request body is empty; expected a JSON object")
	}
	return http.StatusBadRequest, fmt.Errorf("invalid JSON body: %w", err)
}

// AnalysisList is the body of GET /api/v1/rollouts/{service}/analysis: the
// rollout's last evaluations on this Turnout, newest first. In a fleet
// only the leader analyses; a member that does not lead lists none, or
// those from when it led.
type AnalysisList struct {
	Service string `json:"service"`
	// Leader is true when this Turnout analyses now, so its evaluations
	// decide: always on a single Turnout, on the leader in a fleet.
	Leader      bool                 `json:"leader"`
	Evaluations []rollout.Evaluation `json:"evaluations"`
}

// handleAnalysis serves GET /api/v1/rollouts/{service}/analysis with
// ?limit=N (1 to rollout.HistoryLen, default all kept).
func (a *API) handleAnalysis(w http.ResponseWriter, r *http.Request) {
	service := r.PathValue("service")
	limit := rollout.HistoryLen
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > rollout.HistoryLen {
			WriteError(w, http.StatusBadRequest, fmt.Errorf("limit=%q must be a number from 1 to %d", s, rollout.HistoryLen))
			return
		}
		limit = n
	}
	evs, err := a.engine.Analyses(service, limit)
	if err != nil {
		a.answerRollout(w, service, rollout.Status{}, err)
		return
	}
	writeJSON(w, http.StatusOK, AnalysisList{Service: service, Leader: a.engine.Analyzing(), Evaluations: evs})
}

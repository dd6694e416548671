package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/turnout-gw/turnout/internal/lifecycle"
)

// Lifecycle is the retirement schedules' source (internal/lifecycle's
// Scheduler): each scheduled version's effective lifecycle, next step and
// hold, and a person's force.
type Lifecycle interface {
	Statuses(service string) []lifecycle.Status
	Status(service, version string) (lifecycle.Status, bool)
	Force(service, version, actor string) (lifecycle.Status, error)
}

// LifecycleList is the body of GET /api/v1/lifecycle/{service}.
type LifecycleList struct {
	Service  string             `json:"service"`
	Versions []lifecycle.Status `json:"versions"`
}

// handleLifecycle serves GET /api/v1/lifecycle/{service}: the versions
// with a schedule.
func (a *API) handleLifecycle(w http.ResponseWriter, r *http.Request) {
	service := r.PathValue("service")
	if err := a.knownService(service); err != nil {
		WriteError(w, http.StatusNotFound, err)
		return
	}
	vs := a.lifecycle.Statuses(service)
	if vs == nil {
		vs = []lifecycle.Status{}
	}
	writeJSON(w, http.StatusOK, LifecycleList{Service: service, Versions: vs})
}

// handleForce serves POST /api/v1/lifecycle/{service}/{version}/force: the
// held or due step is applied now, recorded with the caller as actor.
func (a *API) handleForce(w http.ResponseWriter, r *http.Request) {
	service, version := r.PathValue("service"), r.PathValue("version")
	if err := a.knownService(service); err != nil {
		WriteError(w, http.StatusNotFound, err)
		return
	}
	st, err := a.lifecycle.Force(service, version, actor(r))
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, st)
	case errors.Is(err, lifecycle.ErrNoSchedule):
		WriteError(w, http.StatusNotFound, err)
	case errors.Is(err, lifecycle.ErrNotDue), errors.Is(err, lifecycle.ErrNoStep):
		WriteError(w, http.StatusConflict, err)
	default:
		a.log.Error("admin: forcing a lifecycle step failed", "service", service, "version", version, "error", err)
		WriteError(w, http.StatusInternalServerError, err)
	}
}

// knownService is an error naming service when the routing table does
// not have it.
func (a *API) knownService(service string) error {
	if a.snapshot != nil {
		if snap := a.snapshot(); snap != nil && snap.Table != nil && snap.Table.Service(service) == nil {
			return fmt.Errorf("unknown service %q", service)
		}
	}
	return nil
}

// scheduleView adds a scheduled version's next step and hold to vv.
func (a *API) scheduleView(service string, vv *VersionView) {
	if a.lifecycle == nil {
		return
	}
	st, ok := a.lifecycle.Status(service, vv.Name)
	if !ok {
		return
	}
	vv.NextStep, vv.HoldReason = st.Next, st.Reason
	if st.Applied != nil {
		vv.AppliedBy = st.Applied.Actor
	}
}

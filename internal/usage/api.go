package usage

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/turnout-gw/turnout/internal/httperr"
)

// ServiceView is the body of GET /api/v1/usage/{service} without
// ?version: every version's clients.
type ServiceView struct {
	Service  string    `json:"service"`
	Versions []Version `json:"versions"`
}

// ServeHTTP answers GET /api/v1/usage/{service}[?version=V] (the admin
// API registers it): who called the version — a Version — or each
// version — a ServiceView; 404 for an unknown service or version.
func (t *Tracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, version := r.PathValue("service"), r.URL.Query().Get("version")
	vs, err := t.Usage(name, version)
	switch {
	case errors.Is(err, ErrUnknownService):
		httperr.Write(w, http.StatusNotFound, fmt.Sprintf("service %q is not configured", name))
		return
	case errors.Is(err, ErrUnknownVersion):
		httperr.Write(w, http.StatusNotFound, fmt.Sprintf("service %q has no version %q", name, version))
		return
	}
	var v any = ServiceView{Service: name, Versions: vs}
	if version != "" {
		v = vs[0]
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		httperr.Write(w, http.StatusInternalServerError, err.Error())
		return
	}
	httperr.WriteJSON(w, http.StatusOK, append(b, '\n'))
}

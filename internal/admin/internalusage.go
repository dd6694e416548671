package admin

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// maxUsageWindow bounds the window of GET /api/v1/internal/usage: the
// usage tracker keeps a day of minutes at most.
const maxUsageWindow = 24 * time.Hour

// handleInternalUsage serves GET /api/v1/internal/usage?service=S&version=V&window=D:
// this member's own usage of one version over the window, as JSON
// {"requests": N, "clients": [...]}, for the fleet leader's retirement
// schedule guard (hold_while) to sum with the other members'
// (internal/fleetstats RecentUsage). An unknown service or version saw
// nothing.
func (a *API) handleInternalUsage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	service, version := q.Get("service"), q.Get("version")
	if service == "" || version == "" {
		WriteError(w, http.StatusBadRequest, errors.New("want service=SERVICE&version=VERSION&window=DURATION"))
		return
	}
	window, err := time.ParseDuration(q.Get("window"))
	if err != nil || window <= 0 || window > maxUsageWindow {
		WriteError(w, http.StatusBadRequest, fmt.Errorf("window %q: want a duration over 0 and at most %v", q.Get("window"), maxUsageWindow))
		return
	}
	n, clients := a.recent(service, version, window)
	if clients == nil {
		clients = []string{}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"requests": n, "clients": clients})
}

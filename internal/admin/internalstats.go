package admin

import (
	"fmt"
	"net/http"

	"github.com/turnout-gw/turnout/internal/stats"
)

// maxInternalQueries bounds the queries of one GET /api/v1/internal/stats:
// one per service with a rollout under analysis.
const maxInternalQueries = 100_000

// handleInternalStats serves GET /api/v1/internal/stats?q=QUERY&q=...:
// the exact windows (counts, latency range and histogram buckets) of the
// queried services' versions, in the binary wire form of stats.Export,
// for the fleet leader to merge with its own (internal/fleetstats). Each q
// is SERVICE/WINDOW/SINCE[/VERSION...] (stats.ParseQuery); an unknown
// service or version is simply absent from the answer, as members of a
// fleet may briefly disagree on the configuration. All windows are read at
// one instant of this member's clock.
func (a *API) handleInternalStats(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query()["q"]
	switch {
	case len(raw) == 0:
		WriteError(w, http.StatusBadRequest, fmt.Errorf("no q parameter: want q=SERVICE/WINDOW/SINCE[/VERSION...], one per service"))
		return
	case len(raw) > maxInternalQueries:
		WriteError(w, http.StatusBadRequest, fmt.Errorf("%d queries: at most %d", len(raw), maxInternalQueries))
		return
	}
	qs := make([]stats.Query, 0, len(raw))
	for _, s := range raw {
		q, err := stats.ParseQuery(s)
		if err != nil {
			WriteError(w, http.StatusBadRequest, err)
			return
		}
		qs = append(qs, q)
	}
	b, err := a.stats.Export(qs).AppendBinary(nil)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", stats.ExportContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

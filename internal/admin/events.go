package admin

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/turnout-gw/turnout/internal/store"
)

// EventList is the body of GET /api/v1/events.
type EventList struct {
	Events []store.Event `json:"events"`
}

// handleEvents serves the audit log: ?service=NAME (empty = every service),
// ?after=SEQ (only newer events), ?limit=N (the newest N, default
// store.DefaultEventLimit, at most store.MaxEventLimit), oldest first.
func (a *API) handleEvents(w http.ResponseWriter, r *http.Request) {
	q, err := parseEventQuery(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err)
		return
	}
	evs, err := a.events.Events(q)
	if err != nil {
		a.log.Error("admin: reading events", "error", err)
		WriteError(w, http.StatusInternalServerError, fmt.Errorf("reading events: %w", err))
		return
	}
	if evs == nil {
		evs = []store.Event{}
	}
	writeJSON(w, http.StatusOK, EventList{Events: evs})
}

func parseEventQuery(r *http.Request) (store.EventQuery, error) {
	v := r.URL.Query()
	q := store.EventQuery{Service: v.Get("service")}
	if s := v.Get("after"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return q, fmt.Errorf("after=%q is not an event sequence number", s)
		}
		q.AfterSeq = n
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxEventLimit {
			return q, fmt.Errorf("limit=%q must be a number from 1 to %d", s, store.MaxEventLimit)
		}
		q.Limit = n
	}
	return q, nil
}

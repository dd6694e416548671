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
	// Source is "local" when a fleet's member answered from its own log
	// (etcd did not answer): the events it recorded, numbered locally.
	Source string `json:"source,omitempty"`
}

// localEvents is an events store that can answer from a member's local
// log when the fleet's cannot be read (cluster.Store).
type localEvents interface {
	EventsFrom(q store.EventQuery) ([]store.Event, bool, error)
}

// EventsSourceHeader names where the events came from when not the
// fleet's log: "local".
const EventsSourceHeader = "X-Turnout-Events-Source"

// handleEvents serves the audit log: ?service=NAME (empty = every service),
// ?after=SEQ (only newer events), ?limit=N (the newest N, default
// store.DefaultEventLimit, at most store.MaxEventLimit), oldest first.
func (a *API) handleEvents(w http.ResponseWriter, r *http.Request) {
	q, err := parseEventQuery(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err)
		return
	}
	var evs []store.Event
	var local bool
	if le, ok := a.events.(localEvents); ok {
		evs, local, err = le.EventsFrom(q)
	} else {
		evs, err = a.events.Events(q)
	}
	if err != nil {
		a.log.Error("admin: reading events", "error", err)
		WriteError(w, http.StatusInternalServerError, fmt.Errorf("reading events: %w", err))
		return
	}
	if evs == nil {
		evs = []store.Event{}
	}
	list := EventList{Events: evs}
	if local {
		list.Source = "local"
		w.Header().Set(EventsSourceHeader, "local")
	}
	writeJSON(w, http.StatusOK, list)
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

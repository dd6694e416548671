package proxy

import (
	"net/http"
	"strconv"

	"github.com/turnout-gw/turnout/internal/httperr"
)

// LimitServiceInFlight is the Events.Limit name of a request refused
// because its service already had services.NAME.limits.max_in_flight
// requests in flight.
const LimitServiceInFlight = "service_in_flight"

// serviceRetryAfter is the Retry-After, in seconds, of a 503 for a
// service's in-flight cap (as for the global limits.max_in_flight).
const serviceRetryAfter = 1

// refuseBusy answers a request whose service is at its in-flight cap: 503
// with Retry-After, before any upstream is chosen, so that no version's
// stats see it.
func (h *Handler) refuseBusy(w http.ResponseWriter, x *exchange) {
	x.status = http.StatusServiceUnavailable
	h.events.Limit(LimitServiceInFlight)
	w.Header().Set("Retry-After", strconv.Itoa(serviceRetryAfter))
	httperr.Write(w, http.StatusServiceUnavailable, "too many requests in flight for service "+strconv.Quote(x.d.Service.Name)+
		" (services."+x.d.Service.Name+".limits.max_in_flight); retry later")
}

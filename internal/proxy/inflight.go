package proxy

import (
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/route"
)

// LimitServiceInFlight is the Events.Limit name of a request refused
// because its service already had services.NAME.limits.max_in_flight
// requests in flight.
const LimitServiceInFlight = "service_in_flight"

// serviceRetryAfter is the Retry-After, in seconds, of a 503 for a
// service's in-flight cap (as for the global limits.max_in_flight).
const serviceRetryAfter = 1

// Flights are the services' own caps on requests in flight, by service
// name: a Snapshot's, built by the gateway at every compile and read-only
// once published. A service without a cap has no entry.
type Flights map[string]Flight

// Flight is one service's cap and the counter of its requests in flight.
// The counter outlives the snapshot: NextFlights hands it to the next
// snapshot for a service of the same name, so that a reload changes the cap
// without forgetting the requests still running. The counter is safe for
// concurrent use.
type Flight struct {
	Max int64
	n   *atomic.Int64
}

// NextFlights returns the flights for caps (service name to a cap above 0;
// other entries are ignored), keeping prev's counters for the names it
// shares with them. It returns nil when no service has a cap.
func NextFlights(prev Flights, caps map[string]int64) Flights {
	var next Flights
	for name, max := range caps {
		if max <= 0 {
			continue
		}
		if next == nil {
			next = make(Flights, len(caps))
		}
		n := prev[name].n
		if n == nil {
			n = new(atomic.Int64)
		}
		next[name] = Flight{Max: max, n: n}
	}
	return next
}

// InFlight is the number of requests service has in flight under its cap
// (0 for a service without one).
func (fs Flights) InFlight(service string) int64 {
	if n := fs[service].n; n != nil {
		return n.Load()
	}
	return 0
}

// take admits a request decided as d under its service's cap. It returns
// the counter the request holds (to decrement when it is done; nil when it
// holds none) and false when the service is at its cap. Only requests that
// go upstream count: Turnout's own answers (d.Status) hold no slot.
func (fs Flights) take(d *route.Decision) (held *atomic.Int64, ok bool) {
	if len(fs) == 0 || d.Status != 0 || d.Service == nil {
		return nil, true
	}
	f, capped := fs[d.Service.Name]
	if !capped {
		return nil, true
	}
	if f.n.Add(1) > f.Max {
		f.n.Add(-1)
		return nil, false
	}
	return f.n, true
}

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

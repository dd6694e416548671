package snapshot

import (
	"sync/atomic"

	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/trust"
	"github.com/turnout-gw/turnout/internal/upstream"
)

// Snapshot is everything one request is served with: the routing table and
// the upstream pools it names. A Snapshot is immutable once published; the
// core swaps whole snapshots on reload and weight changes.
type Snapshot struct {
	Table *route.Table
	Pools map[string]*upstream.Pool
	// FallbackBody is the largest request body read whole before an
	// upstream is chosen and kept for a fallback retry (see internal/proxy's preread); 0
	// reads none first.
	FallbackBody int64
	// Trust removes untrusted colour before Decide; nil trusts every request.
	Trust *trust.Policy
	// Flights are the services' own in-flight caps; nil: none.
	Flights Flights
}

// Flights are the services' own caps on requests in flight, by service
// name: a Snapshot's, built by the core at every compile and read-only
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

// Take admits a request decided as d under its service's cap. It returns
// the counter the request holds (to decrement when it is done; nil when it
// holds none) and false when the service is at its cap. Only requests that
// go upstream count: Turnout's own answers (d.Status) hold no slot.
func (fs Flights) Take(d *route.Decision) (held *atomic.Int64, ok bool) {
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

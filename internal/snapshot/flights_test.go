package snapshot

import (
	"testing"

	"github.com/turnout-gw/turnout/internal/route"
)

// TestFlights: a service's cap admits up to Max requests and refuses the
// next; Turnout's own answers and services without a cap hold no slot; the
// next snapshot's flights keep the counter of a service that keeps its
// name, under its new cap, and drop the services without one.
func TestFlights(t *testing.T) {
	users, other := &route.Service{Name: "users"}, &route.Service{Name: "other"}
	fs := NextFlights(nil, map[string]int64{"users": 2, "other": 0})
	if _, ok := fs["other"]; ok || len(fs) != 1 {
		t.Fatalf("flights %v, want users only", fs)
	}
	d := &route.Decision{Service: users}
	for i := 0; i < 2; i++ {
		if held, ok := fs.Take(d); !ok || held == nil {
			t.Fatalf("request %d refused under the cap", i+1)
		}
	}
	if held, ok := fs.Take(d); ok || held != nil {
		t.Fatal("third request admitted over a cap of 2")
	}
	if held, ok := fs.Take(&route.Decision{Service: users, Status: 404}); !ok || held != nil {
		t.Error("a request Turnout answers itself held a slot or was refused")
	}
	if held, ok := fs.Take(&route.Decision{Service: other}); !ok || held != nil {
		t.Error("a service without a cap held a slot or was refused")
	}
	next := NextFlights(fs, map[string]int64{"users": 3})
	if next.InFlight("users") != 2 {
		t.Fatalf("next snapshot counts %d in flight, want the 2 still held", next.InFlight("users"))
	}
	held, ok := next.Take(d)
	if !ok {
		t.Fatal("refused under the raised cap")
	}
	if _, ok := next.Take(d); ok {
		t.Fatal("admitted over the raised cap of 3")
	}
	held.Add(-1)
	if fs.InFlight("users") != 2 || NextFlights(next, nil) != nil {
		t.Error("the counter is not shared, or a configuration without caps kept flights")
	}
}

package usage

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/turnout-gw/turnout/internal/httperr"
)

// Errors of Usage; the admin API answers both with 404.
var (
	ErrUnknownService = errors.New("unknown service")
	ErrUnknownVersion = errors.New("unknown version")
)

// MaxRecentClients bounds the clients Recent returns.
const MaxRecentClients = 10

// Client is one client's use of one version: GET /api/v1/usage/{service}.
type Client struct {
	Client    string    `json:"client"`
	Requests  uint64    `json:"requests"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Operations are the operations the client used, most requests
	// first, at most Options.MaxOperations of them.
	Operations []Operation `json:"operations"`
	// OtherOperations counts the requests of operations beyond them.
	OtherOperations uint64 `json:"other_operations,omitempty"`
	// Hourly is the client's requests in each of the last Hours hours,
	// oldest first, the first hour starting at HourlyFrom.
	Hourly     []uint64  `json:"hourly"`
	HourlyFrom time.Time `json:"hourly_from"`
}

// Operation is the requests of one client to one operation.
type Operation struct {
	Operation string `json:"operation"`
	Requests  uint64 `json:"requests"`
}

// Version is who called one version of a service: every client, most
// requests first.
type Version struct {
	Service string `json:"service"`
	Version string `json:"version"`
	// Requests is every request the version served since counting began.
	Requests uint64 `json:"requests"`
	// Requests24h is the requests of the last 24 hours (by minute).
	Requests24h uint64 `json:"requests_24h"`
	// Hourly is the version's requests in each of the last Hours hours,
	// oldest first, the first hour starting at HourlyFrom: with the
	// clients' Hourly, each one's share over time.
	Hourly     []uint64  `json:"hourly"`
	HourlyFrom time.Time `json:"hourly_from"`
	Clients    []Client  `json:"clients"`
}

// Usage returns who called each version of service, or of the one version
// when version is not "": every version configured and every version
// counted, sorted by name. A version configured but never called has no
// clients.
func (t *Tracker) Usage(service, version string) ([]Version, error) {
	s := (*t.services.Load())[service]
	if s == nil {
		return nil, ErrUnknownService
	}
	now := t.o.Now()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	names := slices.Clone(s.declared)
	for _, v := range s.st.versions {
		if !slices.Contains(names, v.name) {
			names = append(names, v.name)
		}
	}
	slices.Sort(names)
	if version != "" {
		if !slices.Contains(names, version) {
			return nil, ErrUnknownVersion
		}
		names = []string{version}
	}
	out := make([]Version, 0, len(names))
	for _, n := range names {
		vu := Version{Service: service, Version: n, Clients: []Client{}, Hourly: make([]uint64, Hours), HourlyFrom: hourlyFrom(now)}
		if v := s.st.version(n); v != nil {
			vu.Requests, vu.Clients = v.requests, v.list(now)
			vu.Requests24h = v.since(now.Add(-RingMinutes*time.Minute+time.Minute), now)
			vu.Hourly = v.minutes.spread(vu.HourlyFrom.Unix()/60, 60, Hours)
		}
		out = append(out, vu)
	}
	return out, nil
}

// hourlyFrom is the start of the first of the Hours hours ending with
// now's.
func hourlyFrom(now time.Time) time.Time {
	return time.Unix((now.Unix()/3600-Hours+1)*3600, 0).UTC()
}

// list returns the version's clients, most requests first. The caller
// holds the state's lock.
func (v *version) list(now time.Time) []Client {
	all := v.clients()
	out := make([]Client, 0, len(all))
	for _, c := range all {
		out = append(out, c.view(now))
	}
	slices.SortFunc(out, func(a, b Client) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Client, b.Client))
	})
	return out
}

func (c *client) view(now time.Time) Client {
	ops := make([]Operation, 0, len(c.ops))
	for _, op := range c.ops {
		ops = append(ops, Operation{Operation: op.name, Requests: op.n})
	}
	slices.SortFunc(ops, func(a, b Operation) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Operation, b.Operation))
	})
	from := hourlyFrom(now)
	hourly := c.hours.spread(from.Unix()/3600, 1, Hours)
	return Client{Client: c.name, Requests: c.requests, FirstSeen: time.Unix(0, c.first).UTC(),
		LastSeen: time.Unix(0, c.last).UTC(), Operations: ops, OtherOperations: c.otherOps, Hourly: hourly, HourlyFrom: from}
}

// since sums the minute buckets from the one holding from to the one
// holding now (at most RingMinutes of them). The caller holds the lock.
func (v *version) since(from, now time.Time) uint64 {
	last := now.Unix() / 60
	return v.minutes.sum(max(floorDiv(from.Unix(), 60), last-RingMinutes+1), last)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Recent returns the requests version of service served in the last
// window and the clients seen within it, most requests (since counting
// began) first, at most MaxRecentClients. Requests are counted by whole
// minutes: every minute the window touches counts, so the count may
// include up to a minute before the window; a window longer than
// RingMinutes is cut to it. Clients are those whose last request is
// within the window exactly. An unknown service or version saw nothing.
func (t *Tracker) Recent(service, version string, window time.Duration) (requests uint64, clients []string) {
	s := (*t.services.Load())[service]
	if s == nil {
		return 0, nil
	}
	now := t.o.Now()
	from := now.Add(-window)
	s.st.mu.Lock()
	v := s.st.version(version)
	if v == nil {
		s.st.mu.Unlock()
		return 0, nil
	}
	requests = v.since(from, now)
	type seen struct {
		name string
		n    uint64
	}
	var list []seen
	for _, c := range v.clients() {
		if c.last >= from.UnixNano() {
			list = append(list, seen{c.name, c.requests})
		}
	}
	s.st.mu.Unlock()
	slices.SortFunc(list, func(a, b seen) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.name, b.name)) })
	for _, c := range list[:min(len(list), MaxRecentClients)] {
		clients = append(clients, c.name)
	}
	return requests, clients
}

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

package mirror

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"

	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/pipeline"
)

// Report is the body of GET /api/v1/diffs/{service}: a service's mirror
// totals since its mirror block last changed, per endpoint, learned noise
// and recent differing samples.
type Report struct {
	Service string `json:"service"`
	To      string `json:"to"`
	// ServedBy is the version whose upstream serves To when To is an
	// adapted version (served_by): its copies are adapted both ways, and
	// the comparison is with what its clients would get.
	ServedBy string  `json:"served_by,omitempty"`
	Percent  float64 `json:"percent"`
	// Compare is false for a mirror without compare: copies are sent and
	// counted, never compared.
	Compare bool `json:"compare"`
	// Sent counts copies that were sent; Compared those compared (Match +
	// Diff); Error those that got no answer; Dropped those refused by a
	// full queue, or because the service's copies already occupied their
	// share of the workers; TooLarge requests whose body exceeded max_body.
	Sent     uint64 `json:"sent"`
	Compared uint64 `json:"compared"`
	Match    uint64 `json:"match"`
	Diff     uint64 `json:"diff"`
	Error    uint64 `json:"error"`
	Dropped  uint64 `json:"dropped"`
	TooLarge uint64 `json:"too_large"`
	// Pending counts copies queued or being sent right now.
	Pending int64 `json:"pending"`
	// Noisy counts comparisons that differed only in noise (counted as
	// Match). DiffRate is Diff / Compared, noise excluded.
	Noisy     uint64           `json:"noisy"`
	DiffRate  float64          `json:"diff_rate"`
	LastError string           `json:"last_error,omitempty"`
	Endpoints []EndpointReport `json:"endpoints"`
	// Noise lists every path learned as noise, on any endpoint.
	Noise   []string `json:"noise"`
	Samples []Sample `json:"samples"`
}

// EndpointReport is one endpoint's part of a Report.
type EndpointReport struct {
	Endpoint string       `json:"endpoint"`
	Compared uint64       `json:"compared"`
	Match    uint64       `json:"match"`
	Diff     uint64       `json:"diff"`
	Error    uint64       `json:"error"`
	DiffRate float64      `json:"diff_rate"`
	Paths    []PathReport `json:"paths"`
	Noise    []string     `json:"noise"`
}

// PathReport counts the comparisons of an endpoint that differed at Path.
type PathReport struct {
	Path  string `json:"path"`
	Count uint64 `json:"count"`
}

// Report returns a service's report with up to samples samples, and false
// when the service has no mirror.
func (m *Manager) Report(name string, samples int) (Report, bool) {
	s := m.lookup(name)
	if s == nil {
		return Report{}, false
	}
	r := s.res
	rep := Report{Service: name, To: s.to, ServedBy: s.servedBy, Percent: s.spec.Percent, Compare: s.comparer != nil,
		Dropped: r.Dropped(), TooLarge: r.tooLarge.Load(), Pending: r.Pending(), Endpoints: []EndpointReport{}, Noise: []string{}}
	r.With(func(t *tally, ring *pipeline.Ring[Sample]) {
		rep.Sent, rep.Compared, rep.Match, rep.Diff, rep.Error, rep.Noisy = t.sent, t.compared, t.match, t.diff, t.errs, t.noisy
		rep.LastError = t.lastError
		for key, e := range t.endpoints {
			er := EndpointReport{Endpoint: key, Compared: e.compared, Match: e.match, Diff: e.diff, Error: e.errs,
				DiffRate: ratio(e.diff, e.compared), Paths: make([]PathReport, 0, len(e.paths))}
			for p, n := range e.paths {
				er.Paths = append(er.Paths, PathReport{Path: p, Count: n})
			}
			rep.Endpoints = append(rep.Endpoints, er)
		}
		rep.Samples = ring.List(samples)
	})
	rep.DiffRate = ratio(rep.Diff, rep.Compared)
	noise := map[string]bool{}
	for i := range rep.Endpoints {
		e := &rep.Endpoints[i]
		sort.Slice(e.Paths, func(a, b int) bool {
			pa, pb := e.Paths[a], e.Paths[b]
			return pa.Count > pb.Count || pa.Count == pb.Count && pa.Path < pb.Path
		})
		e.Noise = []string{}
		if s.noise != nil {
			e.Noise = append(e.Noise, s.noise.Paths(e.Endpoint)...)
		}
		for _, p := range e.Noise {
			noise[p] = true
		}
	}
	sort.Slice(rep.Endpoints, func(a, b int) bool {
		ea, eb := rep.Endpoints[a], rep.Endpoints[b]
		if ea.DiffRate != eb.DiffRate {
			return ea.DiffRate > eb.DiffRate
		}
		if ea.Compared != eb.Compared {
			return ea.Compared > eb.Compared
		}
		return ea.Endpoint < eb.Endpoint
	})
	for p := range noise {
		rep.Noise = append(rep.Noise, p)
	}
	slices.Sort(rep.Noise)
	return rep, true
}

func ratio(n, d uint64) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// ServeDiffs serves GET /api/v1/diffs/{service}: the service's Report, 404
// when it has no mirror. ?samples=N limits the samples (default all kept).
func (m *Manager) ServeDiffs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("service")
	n := m.o.Samples
	if v := r.URL.Query().Get("samples"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 0 {
			httperr.Write(w, http.StatusBadRequest, "samples must be a whole number of 0 or more")
			return
		}
		n = min(k, n)
	}
	rep, ok := m.Report(name, n)
	if !ok {
		httperr.Write(w, http.StatusNotFound, "service "+strconv.Quote(name)+" has no mirror")
		return
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		httperr.Write(w, http.StatusInternalServerError, err.Error())
		return
	}
	httperr.WriteJSON(w, http.StatusOK, append(b, '\n'))
}

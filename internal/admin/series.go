package admin

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/turnout-gw/turnout/internal/stats"
)

// Defaults of GET /api/v1/series/{service}.
const (
	// DefaultSeriesSpan is the chart span and the summary window when the
	// query does not give them.
	DefaultSeriesSpan = 15 * time.Minute
	// seriesPoints is how many points the default step aims at.
	seriesPoints = 90
)

// SeriesList is the body of GET /api/v1/series/{service}: per version, a
// summary over Window and the points of the last Span in steps of Step.
type SeriesList struct {
	Service string `json:"service"`
	Span    string `json:"span"`   // Go duration
	Step    string `json:"step"`   // the point width actually used (stats rounds it up)
	Window  string `json:"window"` // the summary's window
	// Versions are the service's declared versions sorted by name (or,
	// without a routing table, the versions the registry has seen).
	Versions []VersionSeries `json:"versions"`
}

// VersionSeries is one version's summary and points.
type VersionSeries struct {
	Version string        `json:"version"`
	Summary SeriesStats   `json:"summary"`
	Points  []SeriesPoint `json:"points"`
}

// SeriesStats are the numbers of a summary or of one point.
type SeriesStats struct {
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	Rate      float64 `json:"rate"`       // requests per second
	ErrorRate float64 `json:"error_rate"` // errors / requests, 0 without requests
	P95Ms     float64 `json:"p95_ms"`     // 95th percentile latency in milliseconds
}

// SeriesPoint is one interval [T, T+Step). Share is the version's share of
// the service's requests in that interval (null when the service had none):
// the observed traffic split.
type SeriesPoint struct {
	T int64 `json:"t"` // interval start, Unix milliseconds
	SeriesStats
	Share *float64 `json:"share"`
}

// handleSeries serves ?span=DUR (chart span, 1s..15m, default 15m),
// ?step=DUR (point width, 1s..span, default span/90) and ?window=DUR
// (summary window, 1s..15m, default 15m) for one service.
func (a *API) handleSeries(w http.ResponseWriter, r *http.Request) {
	service := r.PathValue("service")
	span, err := durationParam(r, "span", DefaultSeriesSpan, time.Second, stats.MaxHistory)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err)
		return
	}
	step, err := durationParam(r, "step", max(span/seriesPoints, time.Second), time.Second, span)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err)
		return
	}
	window, err := durationParam(r, "window", DefaultSeriesSpan, time.Second, stats.MaxHistory)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err)
		return
	}
	versions, ok := a.seriesVersions(service)
	if !ok {
		WriteError(w, http.StatusNotFound, fmt.Errorf("unknown service %q", service))
		return
	}
	out := SeriesList{Service: service, Span: span.String(), Step: step.String(), Window: window.String(),
		Versions: make([]VersionSeries, 0, len(versions))}
	totals := map[int64]int64{}
	for _, v := range versions {
		pts := a.stats.History(service, v, span, step)
		if len(pts) > 1 {
			out.Step = pts[1].At.Sub(pts[0].At).String()
		}
		sum := a.stats.VersionWindow(service, v, window, time.Time{})
		vs := VersionSeries{Version: v, Points: make([]SeriesPoint, len(pts)),
			Summary: SeriesStats{Requests: sum.Requests, Errors: sum.Errors, Rate: sum.Rate, ErrorRate: sum.ErrorRate, P95Ms: ms(sum.P95)}}
		for i, p := range pts {
			t := p.At.UnixMilli()
			vs.Points[i] = SeriesPoint{T: t, SeriesStats: SeriesStats{Requests: p.Requests, Errors: p.Errors,
				Rate: p.Rate, ErrorRate: p.ErrorRate, P95Ms: ms(p.P95)}}
			totals[t] += p.Requests
		}
		out.Versions = append(out.Versions, vs)
	}
	for _, vs := range out.Versions {
		for i := range vs.Points {
			p := &vs.Points[i]
			if n := totals[p.T]; n > 0 {
				share := float64(p.Requests) / float64(n)
				p.Share = &share
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// seriesVersions lists the versions to report: the routing table's when
// there is one (false for an unknown service), else the registry's keys.
func (a *API) seriesVersions(service string) ([]string, bool) {
	if a.snapshot != nil {
		if snap := a.snapshot(); snap != nil && snap.Table != nil {
			s := snap.Table.Service(service)
			if s == nil {
				return nil, false
			}
			out := make([]string, 0, len(s.Versions))
			for _, v := range s.Versions {
				out = append(out, v.Name)
			}
			return out, true
		}
	}
	var out []string
	for _, k := range a.stats.Keys() {
		if k.Service == service && !slices.Contains(out, k.Version) {
			out = append(out, k.Version)
		}
	}
	return out, true
}

// durationParam reads a Go duration query parameter within [lo, hi].
func durationParam(r *http.Request, name string, def, lo, hi time.Duration) (time.Duration, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < lo || d > hi {
		return 0, fmt.Errorf("%s=%q must be a duration from %v to %v", name, s, lo, hi)
	}
	return d, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

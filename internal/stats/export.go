package stats

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// Window is a version's series merged over a window, in the form that
// merges exactly: request and error counts, the latency range and the
// latency histogram's bucket counts, never quantiles. Merging the Windows
// of several registries over the same window gives the Window, and so the
// Summary, one registry would have had that saw all their Records (with
// one clock). A Window is a value; it is not safe for concurrent use.
type Window struct {
	agg agg
	// span is the time covered: from the first bucket read, or the
	// version's earliest record if later, to now. Merged Windows cover the
	// longest of their spans.
	span time.Duration
}

// Merge adds o to w.
func (w *Window) Merge(o *Window) {
	w.agg.add(&o.agg)
	w.span = max(w.span, o.span)
}

// Summary returns the window's counts, error rate, quantiles and rate.
func (w *Window) Summary() Summary { return w.agg.summary(w.span) }

// Requests returns the number of requests the window counts.
func (w *Window) Requests() int64 { return w.agg.requests }

// Query asks a registry for the windows of a service's versions: those
// named, or every version it has seen when Versions is empty, over the
// window ending now and not before Since (the zero time: no bound), as
// Registry.VersionWindow reads them.
type Query struct {
	Service  string
	Versions []string
	Window   time.Duration
	Since    time.Time
}

// VersionKey names a version of a service in an Export.
type VersionKey struct{ Service, Version string }

// Export is a set of version windows, at most one per VersionKey: what a
// fleet member sends the leader for analysis (AppendBinary). Exports of
// several members over the same queries merge exactly (Merge). An Export
// is not safe for concurrent use; once built it may be read concurrently.
type Export struct {
	windows map[VersionKey]*Window
}

// NewExport returns an empty Export.
func NewExport() *Export { return &Export{windows: map[VersionKey]*Window{}} }

// Export returns the windows the queries ask for, all read at one instant.
// A version the registry has no series of, or an empty window, is left
// out; a version with series but no request in the window is kept, with
// its span. A service queried twice is answered for its first query.
func (r *Registry) Export(qs []Query) *Export {
	e := NewExport()
	now := r.now().UnixNano()
	seen := make(map[string]bool, len(qs))
	var versions []string
	var block []Window // windows are allocated a block at a time
	for _, q := range qs {
		if seen[q.Service] {
			continue
		}
		seen[q.Service] = true
		ss := r.serviceList(q.Service)
		versions = versions[:0]
		if len(q.Versions) > 0 {
			versions = append(versions, q.Versions...)
		} else {
			for _, s := range ss {
				if !slices.Contains(versions, s.key.Version) {
					versions = append(versions, s.key.Version)
				}
			}
		}
		for _, v := range versions {
			w, ok := versionWindow(ss, v, now, q.Window, q.Since)
			if !ok {
				continue
			}
			if len(block) == 0 {
				block = make([]Window, min(2*len(qs), 256))
			}
			block[0] = w
			e.windows[VersionKey{q.Service, v}] = &block[0]
			block = block[1:]
		}
	}
	return e
}

// Len returns the number of windows.
func (e *Export) Len() int { return len(e.windows) }

// Window returns the window of (service, version), if e has it.
func (e *Export) Window(service, version string) (*Window, bool) {
	w, ok := e.windows[VersionKey{service, version}]
	return w, ok
}

// Summary returns the summary of (service, version): the zero Summary if
// e has no window of it, as Registry.VersionWindow answers then.
func (e *Export) Summary(service, version string) Summary {
	if w, ok := e.windows[VersionKey{service, version}]; ok {
		return w.Summary()
	}
	return Summary{}
}

// Keys returns the keys of e's windows sorted by service, then version.
func (e *Export) Keys() []VersionKey {
	return slices.SortedFunc(maps.Keys(e.windows), func(a, b VersionKey) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Version, b.Version))
	})
}

// Merge adds o's windows to e's. o is not modified and shares nothing
// with e afterwards.
func (e *Export) Merge(o *Export) {
	for k, w := range o.windows {
		if mine, ok := e.windows[k]; ok {
			mine.Merge(w)
			continue
		}
		c := *w
		e.windows[k] = &c
	}
}

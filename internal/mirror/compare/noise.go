package compare

import (
	"slices"
	"strings"
	"sync"
)

// Bounds of a Noise's memory.
const (
	MaxNoiseEndpoints = 1024 // endpoints learned; later ones are not learned
	MaxNoisePaths     = 256  // noisy paths per endpoint; later ones are not learned
	maxNoisePathLen   = 1024 // longer paths are not learned
)

// Noise learns, per endpoint, which paths differ between two answers of the
// primary version to the same request (Diffy's design): a field that changes
// from call to call, such as a timestamp or a request id, differs between
// primary and candidate for the same reason and is not a regression.
//
// A learned JSON path has every array index written "*", so /items/3/ts
// learned on one element covers every element. A learned path also covers
// everything under it (/meta covers /meta/id). "status", "header:Name" and
// "" (the whole body: non-JSON bodies, or JSON roots of different types)
// cover only themselves.
//
// Noise only grows: a path once learned stays noisy for the endpoint.
// Memory is bounded by MaxNoiseEndpoints × MaxNoisePaths paths. A Noise is
// safe for concurrent use.
type Noise struct {
	mu  sync.RWMutex
	eps map[string]*noisy
}

// noisy is one endpoint's learned paths.
type noisy struct {
	paths map[string]struct{} // every learned path, as returned by Paths
	json  []pattern           // the JSON Pointer ones, parsed
}

// NewNoise returns an empty Noise.
func NewNoise() *Noise {
	return &Noise{eps: make(map[string]*noisy)}
}

// Learn compares two answers of the primary to the same request with c (nil
// for the defaults) and records the paths that differ as noisy for endpoint.
// Paths the comparer ignores are never learned.
func (n *Noise) Learn(endpoint string, primary, primaryAgain *Response, c *Comparer) {
	o := c.diff(primary, primaryAgain)
	defer o.release()
	if len(o.head) == 0 && len(o.body) == 0 {
		return
	}
	paths := make([]string, 0, len(o.head)+len(o.body))
	for _, d := range o.head {
		paths = append(paths, d.Path)
	}
	for _, d := range o.body {
		paths = append(paths, generalPointer(d.path))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	ep := n.eps[endpoint]
	if ep == nil {
		if len(n.eps) >= MaxNoiseEndpoints {
			return
		}
		ep = &noisy{paths: make(map[string]struct{})}
		n.eps[endpoint] = ep
	}
	for _, p := range paths {
		if len(ep.paths) >= MaxNoisePaths {
			return
		}
		ep.add(p)
	}
}

func (ep *noisy) add(p string) {
	if _, ok := ep.paths[p]; ok || len(p) > maxNoisePathLen {
		return
	}
	if strings.HasPrefix(p, "/") {
		pat, err := parsePattern(p)
		if err != nil {
			return // not produced by generalPointer
		}
		ep.json = append(ep.json, pat)
	}
	ep.paths[p] = struct{}{}
}

// Paths returns the noisy paths learned for endpoint, sorted.
func (n *Noise) Paths(endpoint string) []string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	ep := n.eps[endpoint]
	if ep == nil {
		return nil
	}
	out := make([]string, 0, len(ep.paths))
	for p := range ep.paths {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Filter splits r's differences into those on paths learned as noisy for
// endpoint and the rest. kept matches when no difference is left and r
// omitted none (omitted ones are unknown, so they may be real).
func (n *Noise) Filter(endpoint string, r Result) (kept Result, noisy []Diff) {
	if len(r.Diffs) == 0 {
		return r, nil
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	ep := n.eps[endpoint]
	if ep == nil {
		return r, nil
	}
	kept = Result{Omitted: r.Omitted}
	for _, d := range r.Diffs {
		if ep.covers(d.Path) {
			noisy = append(noisy, d)
		} else {
			kept.Diffs = append(kept.Diffs, d)
		}
	}
	kept.Match = len(kept.Diffs) == 0 && kept.Omitted == 0
	return kept, noisy
}

// covers reports whether a Diff's path is noisy: a JSON Pointer equal to or
// under a learned one (names compared case-insensitively, "*" matching any
// segment), or exactly a learned "status", "header:Name" or "".
func (ep *noisy) covers(path string) bool {
	if segs, ok := splitPointer(path); ok {
		for i := range ep.json {
			if ep.json[i].matchPrefix(segs) {
				return true
			}
		}
		return false
	}
	if _, ok := ep.paths[path]; ok {
		return true
	}
	for p := range ep.paths {
		if strings.EqualFold(p, path) {
			return true
		}
	}
	return false
}

package fleetstats

import (
	"context"
	"sync"

	"github.com/turnout-gw/turnout/internal/stats"
)

// MemberWindows is what one member answered to Each: its own windows, not
// merged with anyone's, or why it did not answer.
type MemberWindows struct {
	Member string
	Export *stats.Export // nil when Err is set
	Err    error
}

// Requests is the number of requests over every window of the answer (0
// when the member did not answer).
func (m MemberWindows) Requests() int64 {
	if m.Export == nil {
		return 0
	}
	var n int64
	for _, k := range m.Export.Keys() {
		w, _ := m.Export.Window(k.Service, k.Version)
		n += w.Requests()
	}
	return n
}

// Each reads qs from every member of members at once (this member from its
// own registry), one request per member in parallel bounded by the
// Source's timeout, and returns each member's answer apart, in the order
// of members: what each member saw (the per-member traffic of `turnout
// cluster status`). It shares no cache with FetchWindow; its requests are
// counted in Pulls. Every goroutine it starts has ended when it returns.
func (s *Source) Each(members []Member, qs []stats.Query) []MemberWindows {
	out := make([]MemberWindows, len(members))
	raw := encodeQueries(qs, s.set.maxQuery)
	ctx, cancel := context.WithTimeout(context.Background(), s.set.timeout)
	defer cancel()
	var wg sync.WaitGroup
	for i, m := range members {
		out[i].Member = m.Name
		if m.Name == s.self {
			out[i].Export = s.local.Export(qs)
			continue
		}
		wg.Go(func() { out[i].Export, out[i].Err = s.fetch(ctx, m, raw) })
	}
	wg.Wait()
	for i, m := range members {
		if m.Name == s.self {
			continue
		}
		s.pulls.Add(1)
		if out[i].Err != nil {
			s.failed.Add(1)
			out[i].Export = nil
		}
	}
	return out
}

package fleetstats

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// UsagePath is the admin API's endpoint RecentUsage asks: a member's own
// usage of one version (internal/usage's Tracker.Recent).
const UsagePath = "/api/v1/internal/usage"

// maxUsagePayload bounds a member's usage answer: a count and a bounded
// list of client names.
const maxUsagePayload = 1 << 20

// Usage is what UsagePath answers: the requests a version served in the
// window and the clients seen in it.
type Usage struct {
	Requests uint64   `json:"requests"`
	Clients  []string `json:"clients"`
}

// RecentUsage returns the fleet's usage of service's version over window:
// local (this member's) plus every other live member's, asked in parallel
// within the Source's timeout, requests summed and clients merged (sorted,
// without repeats). When a member does not answer it returns a
// *PullError naming it, with the partial sum: the caller must not decide
// on it (a retirement step is held, never applied, on partial data).
func (s *Source) RecentUsage(local Usage, service, version string, window time.Duration) (Usage, error) {
	members := s.others()
	ctx, cancel := context.WithTimeout(context.Background(), s.set.timeout)
	defer cancel()
	q := url.Values{"service": {service}, "version": {version}, "window": {window.String()}}.Encode()
	answers := make([]Usage, len(members))
	errs := make([]error, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Go(func() { answers[i], errs[i] = s.fetchUsage(ctx, m, q) })
	}
	wg.Wait()
	out := Usage{Requests: local.Requests, Clients: slices.Clone(local.Clients)}
	var missing []MemberError
	for i, m := range members {
		if errs[i] != nil {
			missing = append(missing, MemberError{Member: m.Name, Err: errs[i]})
			continue
		}
		out.Requests += answers[i].Requests
		out.Clients = append(out.Clients, answers[i].Clients...)
	}
	slices.Sort(out.Clients)
	out.Clients = slices.Compact(out.Clients)
	if len(missing) > 0 {
		slices.SortFunc(missing, func(a, b MemberError) int { return strings.Compare(a.Member, b.Member) })
		return out, &PullError{Members: missing, Asked: len(members), What: "usage"}
	}
	return out, nil
}

// fetchUsage asks one member for its usage with the query string q.
func (s *Source) fetchUsage(ctx context.Context, m Member, q string) (Usage, error) {
	body, err := s.get(ctx, m, UsagePath+"?"+q, "application/json", maxUsagePayload)
	if err != nil {
		return Usage{}, err
	}
	var u Usage
	if err := json.Unmarshal(body, &u); err != nil {
		return Usage{}, fmt.Errorf("fleetstats: malformed usage answer: %w", err)
	}
	return u, nil
}

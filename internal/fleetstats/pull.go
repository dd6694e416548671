package fleetstats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/turnout-gw/turnout/internal/stats"
)

// StatsPath is the admin API's endpoint a pull asks.
const StatsPath = "/api/v1/internal/stats"

// maxQueryBytes bounds the query string of one request, well under the
// admin port's header limit (limits.max_header_bytes, 1 MiB by default):
// some 6,000 rollouts. A pull of more is split into several requests per
// member, sent one after the other.
const maxQueryBytes = 256 << 10

// maxPayload bounds a member's answer: some 40 bytes per version window,
// so this is room for over a million.
const maxPayload = 64 << 20

// Reasons a member's pull failed; a MemberError wraps one of them, a
// *StatusError or stats.ErrMalformed.
var (
	// ErrTimeout: the member did not answer within the pull's timeout.
	ErrTimeout = errors.New("no answer")
	// ErrUnreachable: the request failed before an answer (connection
	// refused, reset, no advertise URL).
	ErrUnreachable = errors.New("unreachable")
	// ErrTooLarge: the answer exceeds the payload bound.
	ErrTooLarge = errors.New("answer too large")
)

// StatusError is a member's answer other than 200: a wrong token (401), a
// refused Host (403), a member without the endpoint (404).
type StatusError struct {
	Code    int
	Message string // the member's JSON error, if it sent one
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("answered %d", e.Code)
	}
	return fmt.Sprintf("answered %d: %s", e.Code, e.Message)
}

// MemberError is why one member's windows are missing.
type MemberError struct {
	Member string
	Err    error
}

func (e MemberError) Error() string { return e.Member + " (" + e.Err.Error() + ")" }

func (e MemberError) Unwrap() error { return e.Err }

// PullError is a pull that lacks some members' windows: the analysis must
// wait rather than judge the fleet without them. Members are sorted by
// name.
type PullError struct {
	Members []MemberError
	Asked   int // members asked, besides this one
	// What was pulled ("stats" when empty).
	What string
}

func (e *PullError) Error() string {
	parts := make([]string, len(e.Members))
	for i, m := range e.Members {
		parts[i] = m.Error()
	}
	what := e.What
	if what == "" {
		what = "stats"
	}
	return fmt.Sprintf("fleet %s missing from %d of %d members: %s", what, len(e.Members), e.Asked, strings.Join(parts, ", "))
}

// Unwrap returns the members' errors, so errors.Is finds their reasons.
func (e *PullError) Unwrap() []error {
	out := make([]error, len(e.Members))
	for i, m := range e.Members {
		out[i] = m
	}
	return out
}

// Names returns the names of the members that did not answer.
func (e *PullError) Names() []string {
	out := make([]string, len(e.Members))
	for i, m := range e.Members {
		out[i] = m.Member
	}
	return out
}

// run pulls qs from every other member in parallel, reads the local
// windows meanwhile, and fills p. Every goroutine it starts has ended when
// it returns, at most the timeout later.
func (s *Source) run(p *pull, qs []stats.Query) {
	members := s.others()
	raw := encodeQueries(qs, s.set.maxQuery)
	ctx, cancel := context.WithTimeout(context.Background(), s.set.timeout)
	defer cancel()
	answers := make([]*stats.Export, len(members))
	errs := make([]error, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Go(func() { answers[i], errs[i] = s.fetch(ctx, m, raw) })
	}
	p.merged = s.local.Export(qs)
	wg.Wait()
	p.at = s.set.now()
	var missing []MemberError
	for i, m := range members {
		s.pulls.Add(1)
		s.logMember(m.Name, errs[i])
		if errs[i] != nil {
			s.failed.Add(1)
			missing = append(missing, MemberError{Member: m.Name, Err: errs[i]})
			continue
		}
		p.merged.Merge(answers[i])
	}
	if len(missing) > 0 {
		slices.SortFunc(missing, func(a, b MemberError) int { return strings.Compare(a.Member, b.Member) })
		p.err = &PullError{Members: missing, Asked: len(members)}
	}
}

// encodeQueries returns the query strings asking for qs, each at most
// limit bytes long unless one query alone is longer.
func encodeQueries(qs []stats.Query, limit int) []string {
	var out []string
	var b strings.Builder
	for _, q := range qs {
		param := "q=" + url.QueryEscape(stats.FormatQuery(q))
		if b.Len() > 0 && b.Len()+1+len(param) > limit {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(param)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// fetch asks one member for the windows of the query strings raws, one
// request each, and merges the answers.
func (s *Source) fetch(ctx context.Context, m Member, raws []string) (*stats.Export, error) {
	var merged *stats.Export
	for _, raw := range raws {
		e, err := s.fetchOne(ctx, m, raw)
		if err != nil {
			return nil, err
		}
		if merged == nil {
			merged = e
		} else {
			merged.Merge(e)
		}
	}
	if merged == nil {
		merged = stats.NewExport()
	}
	return merged, nil
}

// fetchOne asks one member for the windows of the query string raw.
func (s *Source) fetchOne(ctx context.Context, m Member, raw string) (*stats.Export, error) {
	body, err := s.get(ctx, m, StatsPath+"?"+raw, stats.ExportContentType, maxPayload)
	if err != nil {
		return nil, err
	}
	return stats.DecodeExport(body)
}

// get asks one member for pathQuery on its admin port with the admin
// token and returns the body of its 200 answer, at most limit bytes.
func (s *Source) get(ctx context.Context, m Member, pathQuery, accept string, limit int64) ([]byte, error) {
	if m.Advertise == "" {
		return nil, fmt.Errorf("%w: no advertise URL", ErrUnreachable)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(m.Advertise, "/")+pathQuery, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	if tok := s.set.token(); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Accept", accept)
	resp, err := s.set.client.Do(req)
	if err != nil {
		return nil, s.transportError(ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, s.transportError(ctx, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return nil, &StatusError{Code: resp.StatusCode, Message: e.Error}
	}
	return body, nil
}

// transportError names a failed request: ErrTimeout when the pull's
// deadline passed, else ErrUnreachable.
func (s *Source) transportError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w within %v", ErrTimeout, s.set.timeout)
	}
	return fmt.Errorf("%w: %w", ErrUnreachable, err)
}

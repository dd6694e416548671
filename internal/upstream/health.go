package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
)

const (
	// defaultHealthInterval applies when health.interval is zero.
	defaultHealthInterval = 10 * time.Second
	// unhealthyAfter consecutive failed checks take a target out of rotation.
	unhealthyAfter = 2
	// healthBodyLimit bounds how much of a check's response body is drained
	// so that its connection can be reused.
	healthBodyLimit = 64 << 10
	healthUserAgent = "turnout-health-check"
)

// healthSpec is a validated config.Health.
type healthSpec struct {
	path     string // unescaped path
	rawPath  string // escaped path
	query    string
	interval time.Duration
	timeout  time.Duration
}

func newHealthSpec(h *config.Health) (*healthSpec, error) {
	path := h.Path
	if path == "" {
		path = "/"
	}
	u, err := url.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("health path %q: %w", h.Path, err)
	}
	if u.Scheme != "" || u.Host != "" || u.Fragment != "" || len(u.Path) == 0 || u.Path[0] != '/' {
		return nil, fmt.Errorf("health path %q: want an absolute path such as /healthz", h.Path)
	}
	hs := &healthSpec{
		path:     u.Path,
		rawPath:  u.EscapedPath(),
		query:    u.RawQuery,
		interval: h.Interval.D(),
		timeout:  h.Timeout.D(),
	}
	switch {
	case hs.interval < 0:
		return nil, fmt.Errorf("negative health interval %v", hs.interval)
	case hs.timeout < 0:
		return nil, fmt.Errorf("negative health timeout %v", hs.timeout)
	}
	if hs.interval == 0 {
		hs.interval = defaultHealthInterval
	}
	if hs.timeout == 0 {
		hs.timeout = config.DefaultHealthTimeout
	}
	return hs, nil
}

// url returns the check URL of t: target base path joined with the health path.
func (hs *healthSpec) url(t *target) string {
	u := url.URL{Scheme: t.scheme, Host: t.host, Path: hs.path, RawPath: hs.rawPath, RawQuery: hs.query}
	if t.basePath != "" {
		u.Path = joinPath(t.basePath, hs.path)
		u.RawPath = joinPath(t.baseRaw, hs.rawPath)
	}
	return u.String()
}

// healthLoop checks every target at once, then every interval, until ctx is
// done.
func (p *Pool) healthLoop(ctx context.Context) {
	p.checkAll(ctx)
	tk := time.NewTicker(p.health.interval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			p.checkAll(ctx)
		}
	}
}

// checkAll checks all targets concurrently, waits for every check, and then
// applies the results in one critical section.
func (p *Pool) checkAll(ctx context.Context) {
	errs := make([]error, len(p.targets))
	var wg sync.WaitGroup
	for i, t := range p.targets {
		wg.Go(func() { errs[i] = p.check(ctx, t) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return // closing: the results are meaningless
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	changed := false
	for i, t := range p.targets {
		if p.applyCheckLocked(t, errs[i], now) {
			changed = true
		}
	}
	if changed {
		p.rebuildLocked(now)
	}
}

// check performs one health check of t: GET over a fresh connection in the
// pool's protocol, bounded by the health timeout; 2xx/3xx is healthy.
func (p *Pool) check(ctx context.Context, t *target) error {
	ctx, cancel := context.WithTimeout(ctx, p.health.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.healthURL, nil)
	if err != nil {
		return fmt.Errorf("health check %s: %w", t.healthURL, err)
	}
	req.Header.Set("User-Agent", healthUserAgent)
	resp, err := p.tr.health.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("health check %s: %w", t.healthURL, err)
	}
	_, _ = io.CopyN(io.Discard, resp.Body, healthBodyLimit)
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("health check %s: %w", t.healthURL, &statusError{code: resp.StatusCode})
	}
	return nil
}

// statusError is a health check answered with a non-2xx/3xx status.
type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("unhealthy status %d", e.code) }

// applyCheckLocked records the result of a check of t and reports whether the
// rotation changed. One success makes t healthy and ends an ejection;
// unhealthyAfter consecutive failures make it unhealthy.
func (p *Pool) applyCheckLocked(t *target, err error, now time.Time) bool {
	t.lastCheck = now
	if err == nil {
		t.healthFails = 0
		changed := false
		if t.unhealthy {
			t.unhealthy = false
			changed = true
			p.log.Info("target healthy", "target", t.raw)
		}
		if t.ejected {
			t.ejected = false
			t.fails.Store(0)
			changed = true
			p.log.Info("target back in rotation", "target", t.raw, "reason", "health check passed")
		}
		return changed
	}
	t.lastErr = err.Error()
	t.healthFails++
	if t.unhealthy || t.healthFails < unhealthyAfter {
		return false
	}
	t.unhealthy = true
	var se *statusError
	if errors.As(err, &se) {
		p.log.Warn("target unhealthy", "target", t.raw, "status", se.code)
	} else {
		p.log.Warn("target unhealthy", "target", t.raw, "error", err)
	}
	return true
}

package demo

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// loadRequest is one kind of request the load generator sends.
type loadRequest struct {
	weight int // relative frequency
	build  func(base string, rnd *rand.Rand) (*http.Request, error)
}

// loadMix is the traffic the load generator sends: mostly unpinned requests
// from many users (so the rollout split shows), some pinned by each
// negotiation source, some testers, a few lists and unknown users.
var loadMix = []loadRequest{
	{55, func(base string, rnd *rand.Rand) (*http.Request, error) {
		return get(base+userPath(rnd), "X-User-ID", "user-"+strconv.Itoa(1+rnd.IntN(200)))
	}},
	{10, func(base string, rnd *rand.Rand) (*http.Request, error) {
		return get(base + userPath(rnd))
	}},
	{8, func(base string, rnd *rand.Rand) (*http.Request, error) {
		return get(base+userPath(rnd), "X-API-Version", []string{"1", "2"}[rnd.IntN(2)])
	}},
	{8, func(base string, rnd *rand.Rand) (*http.Request, error) {
		return get(base+userPath(rnd), "Accept", "application/vnd.example.v"+strconv.Itoa(1+rnd.IntN(2))+"+json")
	}},
	{8, func(base string, rnd *rand.Rand) (*http.Request, error) {
		return get(base + "/v" + strconv.Itoa(1+rnd.IntN(2)) + userPath(rnd))
	}},
	{5, func(base string, rnd *rand.Rand) (*http.Request, error) {
		return get(base+userPath(rnd), "X-Env", "canary")
	}},
	{4, func(base string, rnd *rand.Rand) (*http.Request, error) {
		return get(base+"/users", "X-User-ID", "user-"+strconv.Itoa(1+rnd.IntN(200)))
	}},
	{2, func(base string, rnd *rand.Rand) (*http.Request, error) {
		return get(base + "/users/" + strconv.Itoa(100+rnd.IntN(900)))
	}},
}

// userPath is /users/{id} for a mostly known id.
func userPath(rnd *rand.Rand) string { return "/users/" + strconv.Itoa(1+rnd.IntN(len(people))) }

// get builds a GET with header name/value pairs.
func get(url string, kv ...string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	return req, nil
}

// runLoad sends rate requests per second, one at a time, until ctx ends. A
// slow gateway lowers the rate instead of piling requests up.
func (d *Demo) runLoad(ctx context.Context, rate float64) {
	interval := time.Duration(float64(time.Second) / rate)
	if interval < time.Millisecond {
		interval = time.Millisecond
	}
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second, ResponseHeaderTimeout: 5 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	defer client.CloseIdleConnections()
	total := 0
	for _, m := range loadMix {
		total += m.weight
	}
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	tick := time.NewTicker(interval)
	defer tick.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n := rnd.IntN(total)
		var m loadRequest
		for _, m = range loadMix {
			if n < m.weight {
				break
			}
			n -= m.weight
		}
		req, err := m.build(d.URL, rnd)
		if err != nil {
			d.log.Error("demo load: building request", "error", err)
			return
		}
		resp, err := client.Do(req.WithContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if failures++; failures == 1 || failures%100 == 0 {
				d.log.Warn("demo load: request failed", "url", req.URL.String(), "error", err, "failures", failures)
			}
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
	}
}

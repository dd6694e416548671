// Command check verifies a proxy's routing before the benchmark times it:
// n plain requests must reach v2 in a share within [-min, -max], and n
// requests carrying "X-Canary: always" must all reach v2 (with -canary).
// The version is read from the upstream's X-Version response header (or the
// JSON body's "version" when a proxy drops the header); when the proxy also
// sends X-Served-Version (Turnout does) the two must agree.
//
// It prints one line and exits 0 when routing is right, 1 otherwise.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

type tally struct {
	mu     sync.Mutex
	counts map[string]int
	errs   int
	first  error
}

func (t *tally) add(version string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.errs++
		if t.first == nil {
			t.first = err
		}
		return
	}
	t.counts[version]++
}

func fetch(ctx context.Context, c *http.Client, url string, canary bool) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	if canary {
		req.Header.Set("X-Canary", "always")
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	v := resp.Header.Get("X-Version")
	if v == "" {
		var body struct {
			Version string `json:"version"`
		}
		if err := json.Unmarshal(b, &body); err != nil || body.Version == "" {
			return "", errors.New("response names no version (no X-Version header, no JSON version)")
		}
		v = body.Version
	}
	if s := resp.Header.Get("X-Served-Version"); s != "" && s != v {
		return "", fmt.Errorf("X-Served-Version %q but upstream %q answered", s, v)
	}
	return v, nil
}

// run sends n requests over conc connections and tallies the versions.
func run(ctx context.Context, c *http.Client, url string, n, conc int, canary bool) *tally {
	t := &tally{counts: map[string]int{}}
	jobs := make(chan struct{})
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				t.add(fetch(ctx, c, url, canary))
			}
		}()
	}
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	return t
}

func main() {
	url := flag.String("url", "", "URL to send requests to (required)")
	n := flag.Int("n", 2000, "requests per check")
	conc := flag.Int("c", 16, "concurrent connections")
	minShare := flag.Float64("min", 0.06, "lowest acceptable share of plain requests on v2")
	maxShare := flag.Float64("max", 0.14, "highest acceptable share of plain requests on v2")
	canary := flag.Bool("canary", true, "also require every X-Canary: always request to reach v2")
	timeout := flag.Duration("timeout", 60*time.Second, "bound on the whole check")
	flag.Parse()
	if *url == "" || *n <= 0 || *conc <= 0 {
		flag.Usage()
		os.Exit(2)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: *conc, IdleConnTimeout: 30 * time.Second},
	}

	var problems []string
	plain := run(ctx, c, *url, *n, *conc, false)
	share := float64(plain.counts["v2"]) / float64(*n)
	msg := fmt.Sprintf("plain: v2 %d/%d (%.1f%%, want %.0f–%.0f%%)", plain.counts["v2"], *n, 100*share, 100**minShare, 100**maxShare)
	if plain.errs > 0 {
		problems = append(problems, fmt.Sprintf("%d plain requests failed (first: %v)", plain.errs, plain.first))
	}
	if other := *n - plain.errs - plain.counts["v1"] - plain.counts["v2"]; other > 0 {
		problems = append(problems, fmt.Sprintf("%d plain requests answered by neither v1 nor v2", other))
	}
	if share < *minShare || share > *maxShare {
		problems = append(problems, fmt.Sprintf("v2 share %.1f%% outside %.0f–%.0f%%", 100*share, 100**minShare, 100**maxShare))
	}
	if *canary {
		pinned := run(ctx, c, *url, *n, *conc, true)
		msg += fmt.Sprintf("; X-Canary: always: v2 %d/%d", pinned.counts["v2"], *n)
		if pinned.errs > 0 {
			problems = append(problems, fmt.Sprintf("%d canary requests failed (first: %v)", pinned.errs, pinned.first))
		}
		if pinned.counts["v2"] != *n {
			problems = append(problems, fmt.Sprintf("only %d/%d canary requests reached v2", pinned.counts["v2"], *n))
		}
	}
	if len(problems) > 0 {
		fmt.Printf("FAIL %s", msg)
		for _, p := range problems {
			fmt.Printf("; %s", p)
		}
		fmt.Println()
		os.Exit(1)
	}
	fmt.Printf("ok   %s\n", msg)
}

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// breakAfter and breakFor place v2's bad period inside a breaking cycle:
// the rollout is at its first step, and analysis (window 4 s) sees it.
const (
	breakAfter = 2 * time.Second
	breakFor   = 12 * time.Second
)

// controller drives the soak's changes while the load runs: a
// configuration rewrite every reload period (a new rollout block at each
// cycle boundary, otherwise only a comment), v2 broken for breakFor in every
// second cycle, and a watch of the web rollout's state.
type controller struct {
	e *env
	o options

	mu         sync.Mutex
	reloads    int
	reloadErrs int
	cycles     int
	breaks     int
	promotions int
	rollbacks  int
	maxWeight  float64 // the highest weight below 100 seen: evidence of stepping
	last       string
	watchErrs  int
}

func newController(e *env, o options) *controller { return &controller{e: e, o: o} }

func (c *controller) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.watch(ctx)
	}()
	defer wg.Wait()
	reload := time.NewTicker(c.o.reload)
	defer reload.Stop()
	cycleStart, cycle, rev := time.Now(), 0, 0
	c.startCycle(ctx, &cycle, &rev)
	for {
		select {
		case <-ctx.Done():
			c.e.web[1].fail.Store(false)
			return
		case <-reload.C:
		}
		if time.Since(cycleStart) >= c.o.cycle {
			cycleStart = time.Now()
			c.startCycle(ctx, &cycle, &rev)
			continue
		}
		rev++
		c.write(c.e.config(cycle, rev))
	}
}

// startCycle writes a new rollout block (the steps change, so the rollout
// starts over) and, in odd cycles, schedules v2's bad period.
func (c *controller) startCycle(ctx context.Context, cycle, rev *int) {
	*cycle, *rev = *cycle+1, *rev+1
	c.e.web[1].fail.Store(false)
	c.write(c.e.config(*cycle, *rev))
	c.mu.Lock()
	c.cycles++
	c.mu.Unlock()
	if *cycle%2 == 0 {
		return
	}
	go func() {
		sleep(ctx, breakAfter)
		if ctx.Err() != nil {
			return
		}
		c.e.web[1].fail.Store(true)
		c.mu.Lock()
		c.breaks++
		c.mu.Unlock()
		sleep(ctx, breakFor)
		c.e.web[1].fail.Store(false)
	}()
}

func (c *controller) write(text string) {
	err := writeConfig(c.e.path, text)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reloads++
	if err != nil {
		c.reloadErrs++
	}
}

// watch polls the web rollout and counts the states it enters.
func (c *controller) watch(ctx context.Context) {
	for ctx.Err() == nil {
		r, err := c.e.gw.rollout(ctx, "web")
		c.mu.Lock()
		switch {
		case err != nil:
			if ctx.Err() == nil {
				c.watchErrs++
			}
		case r.State != c.last:
			if r.State == "promoted" {
				c.promotions++
			}
			if r.State == "rolled_back" {
				c.rollbacks++
			}
			c.last = r.State
		}
		if err == nil && r.Weight < 100 && r.Weight > c.maxWeight {
			c.maxWeight = r.Weight
		}
		c.mu.Unlock()
		sleep(ctx, 250*time.Millisecond)
	}
}

// metricLines returns the admin /metrics lines that start with prefix.
func metricLines(admin, prefix string) []string {
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		return []string{"(metrics: " + err.Error() + ")"}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return out
}

func (c *controller) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("%d configuration writes (%d failed), %d rollout cycles, v2 broken %d times; web rollout: %d promotions, %d rollbacks, highest stepped weight %.0f%%, %d failed state polls",
		c.reloads, c.reloadErrs, c.cycles, c.breaks, c.promotions, c.rollbacks, c.maxWeight, c.watchErrs)
}

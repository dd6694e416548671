package main

import (
	"errors"
	"fmt"
	"strings"
)

// Tolerances of the end-of-run resources against the start (both at rest).
const (
	maxGoroutineGrowth = 20
	maxFDGrowth        = 20
	maxRSSFactor       = 1.5
	maxErrorShare      = 0.001
)

// report prints the soak's results and returns what failed.
// metrics are admin /metrics lines read before turnout stopped.
func report(e *env, c *controller, start, end sample, metrics []string, exitCode int, o options) error {
	fmt.Println()
	fmt.Println("soak: resources of the turnout process (at rest after the warm-up / after the load)")
	fmt.Printf("  %-12s %12s %12s %12s\n", "", "start", "end", "limit")
	fmt.Printf("  %-12s %12.1f %12.1f %12.1f\n", "RSS MiB", mib(start.RSSKiB), mib(end.RSSKiB), mib(start.RSSKiB)*maxRSSFactor)
	fmt.Printf("  %-12s %12d %12d %12d\n", "goroutines", start.Goroutines, end.Goroutines, start.Goroutines+maxGoroutineGrowth)
	fmt.Printf("  %-12s %12d %12d %12d\n", "open fds", start.FDs, end.FDs, start.FDs+maxFDGrowth)
	if n := len(e.samples); n > 0 {
		lo, hi := e.samples[0], e.samples[0]
		for _, s := range e.samples {
			lo.RSSKiB, hi.RSSKiB = min(lo.RSSKiB, s.RSSKiB), max(hi.RSSKiB, s.RSSKiB)
			lo.Goroutines, hi.Goroutines = min(lo.Goroutines, s.Goroutines), max(hi.Goroutines, s.Goroutines)
			lo.FDs, hi.FDs = min(lo.FDs, s.FDs), max(hi.FDs, s.FDs)
		}
		fmt.Printf("  under load (%d samples): RSS %.1f-%.1f MiB, goroutines %d-%d, fds %d-%d\n",
			n, mib(lo.RSSKiB), mib(hi.RSSKiB), lo.Goroutines, hi.Goroutines, lo.FDs, hi.FDs)
	}
	fmt.Println("soak: load")
	var ops, errs int64
	for _, k := range []struct {
		name string
		t    *tally
	}{{"HTTP/1.1", &e.load.h1}, {"h2c", &e.load.h2c}, {"gRPC streams", &e.load.grpc}, {"WebSocket", &e.load.ws}} {
		fmt.Printf("  %-13s %v\n", k.name, k.t)
		ok, er := k.t.counts()
		ops, errs = ops+ok+er, errs+er
	}
	fmt.Println("soak: control:", c)
	for _, l := range metrics {
		fmt.Println("  " + l)
	}
	fmt.Printf("soak: turnout exited %d on SIGTERM\n", exitCode)

	var problems []string
	if end.Goroutines > start.Goroutines+maxGoroutineGrowth {
		problems = append(problems, fmt.Sprintf("goroutines grew from %d to %d", start.Goroutines, end.Goroutines))
	}
	if end.FDs > start.FDs+maxFDGrowth {
		problems = append(problems, fmt.Sprintf("open fds grew from %d to %d", start.FDs, end.FDs))
	}
	if float64(end.RSSKiB) > float64(start.RSSKiB)*maxRSSFactor {
		problems = append(problems, fmt.Sprintf("RSS grew from %.1f to %.1f MiB", mib(start.RSSKiB), mib(end.RSSKiB)))
	}
	if ops == 0 || float64(errs) > float64(ops)*maxErrorShare {
		problems = append(problems, fmt.Sprintf("%d of %d operations failed in transport", errs, ops))
	}
	if o.duration >= 2*o.cycle {
		c.mu.Lock()
		if c.promotions == 0 || c.rollbacks == 0 || c.maxWeight <= 0 {
			problems = append(problems, fmt.Sprintf("the web rollout was promoted %d times, rolled back %d times, stepped to %.0f%%; want each at least once",
				c.promotions, c.rollbacks, c.maxWeight))
		}
		c.mu.Unlock()
	}
	if exitCode != 0 {
		problems = append(problems, fmt.Sprintf("turnout exited %d on SIGTERM:\n%s", exitCode, e.gw.logs()))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

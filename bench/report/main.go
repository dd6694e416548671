// Command report turns bench/run.sh's raw measurements into the results
// table: medians over rounds per target, ratios to the direct run and to
// nginx, and PASS/FAIL for Turnout's targets.
//
// -results is a tab-separated file, one line per measurement:
//
//	round target requests duration_us errors p50_us p99_us cpu_ticks others_pct others_lg_pct
//
// (cpu_ticks is the proxy's user+system CPU in clock ticks over the run, -1
// when there is no proxy; others_pct and others_lg_pct are the shares of the
// proxies' CPU and of the load generator's CPU that other processes on the
// machine used during the run). -routing is a tab-separated file of
// "target status message" lines from the routing checks.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

type sample struct {
	requests   float64
	durationUS float64
	errors     float64
	p50, p99   float64 // µs
	cpuTicks   float64 // -1: not measured
	othersPct  float64
	othersLG   float64
}

type summary struct {
	rounds    int
	rps       float64
	p50, p99  float64 // µs
	cpuPerReq float64 // µs; -1: not measured
	errors    float64
	othersPct float64
	othersLG  float64
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return -1
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

func readResults(path string) (map[string][]sample, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	by := map[string][]sample{}
	var order []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(strings.TrimSpace(sc.Text()), "\t")
		if len(fields) == 1 && fields[0] == "" {
			continue
		}
		if len(fields) != 10 {
			return nil, nil, fmt.Errorf("%s:%d: want 10 fields, got %d", path, line, len(fields))
		}
		var v [8]float64
		for i := range v {
			if v[i], err = strconv.ParseFloat(fields[i+2], 64); err != nil {
				return nil, nil, fmt.Errorf("%s:%d: %v", path, line, err)
			}
		}
		t := fields[1]
		if _, ok := by[t]; !ok {
			order = append(order, t)
		}
		by[t] = append(by[t], sample{requests: v[0], durationUS: v[1], errors: v[2], p50: v[3], p99: v[4], cpuTicks: v[5], othersPct: v[6], othersLG: v[7]})
	}
	return by, order, sc.Err()
}

func summarize(ss []sample, clkTck float64) summary {
	var rps, p50, p99, cpu, others, othersLG []float64
	var errs float64
	for _, s := range ss {
		if s.durationUS > 0 {
			rps = append(rps, s.requests/(s.durationUS/1e6))
		}
		p50 = append(p50, s.p50)
		p99 = append(p99, s.p99)
		if s.cpuTicks >= 0 && s.requests > 0 {
			cpu = append(cpu, s.cpuTicks/clkTck*1e6/s.requests)
		}
		errs += s.errors
		others = append(others, s.othersPct)
		othersLG = append(othersLG, s.othersLG)
	}
	out := summary{rounds: len(ss), rps: median(rps), p50: median(p50), p99: median(p99), cpuPerReq: -1, errors: errs, othersPct: median(others), othersLG: median(othersLG)}
	if len(cpu) > 0 {
		out.cpuPerReq = median(cpu)
	}
	return out
}

func ms(us float64) string { return fmt.Sprintf("%.2f ms", us/1000) }

func ratio(a, b float64) string {
	if a < 0 || b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

type goal struct {
	what, want, got string
	ok, known       bool
}

func verdict(g goal) string {
	switch {
	case !g.known:
		return "n/a"
	case g.ok:
		return "PASS"
	default:
		return "FAIL"
	}
}

func main() {
	results := flag.String("results", "", "raw measurements (required)")
	routing := flag.String("routing", "", "routing check results")
	clkTck := flag.Float64("clk-tck", 100, "clock ticks per second (getconf CLK_TCK)")
	rssKiB := flag.Float64("rss-kib", -1, "Turnout VmRSS after load with 1,000 services, KiB")
	hwmKiB := flag.Float64("rss-hwm-kib", -1, "Turnout VmHWM (peak RSS) with 1,000 services, KiB")
	idleKiB := flag.Float64("rss-idle-kib", -1, "Turnout VmRSS with 1,000 services before the load, KiB")
	rssErrors := flag.Float64("rss-errors", -1, "wrk errors during the 1,000-service run")
	rssRPS := flag.Float64("rss-rps", -1, "req/s during the 1,000-service run")
	reloadMS := flag.Float64("reload-ms", -1, "wall time of POST /api/v1/reload with 10,000 services, ms")
	reloadStatus := flag.String("reload-status", "", "reload answer (HTTP status and body status)")
	reloadErrors := flag.Float64("reload-errors", -1, "wrk errors during the run that spans the reload")
	reloadRPS := flag.Float64("reload-rps", -1, "req/s during the run that spans the reload")
	strict := flag.Bool("strict", false, "exit 1 when a Turnout target FAILs")
	flag.Parse()
	if *results == "" {
		flag.Usage()
		os.Exit(2)
	}

	by, order, err := readResults(*results)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(2)
	}
	failedRouting := map[string]string{}
	if *routing != "" {
		if b, err := os.ReadFile(*routing); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				f := strings.SplitN(l, "\t", 3)
				if len(f) == 3 && f[1] != "ok" {
					failedRouting[f[0]] = f[2]
					if !slices.Contains(order, f[0]) {
						order = append(order, f[0])
					}
				}
			}
		}
	}

	sums := map[string]summary{}
	for t, ss := range by {
		sums[t] = summarize(ss, *clkTck)
	}
	direct, haveDirect := sums["direct"]
	nginx, haveNginx := sums["nginx"]
	caddy, haveCaddy := sums["caddy"]

	rows := [][]string{{"target", "req/s", "p50", "p99", "CPU µs/req", "req/s ×direct", "req/s ×nginx", "CPU ×nginx", "p99 ×nginx", "errors", "rounds", "others %"}}
	for _, t := range order {
		if _, bad := failedRouting[t]; bad {
			continue
		}
		s := sums[t]
		cpu := "-"
		if s.cpuPerReq >= 0 {
			cpu = fmt.Sprintf("%.1f", s.cpuPerReq)
		}
		vsDirect, vsN, cpuN, p99N := "-", "-", "-", "-"
		if haveDirect {
			vsDirect = ratio(s.rps, direct.rps)
		}
		if haveNginx {
			vsN, cpuN, p99N = ratio(s.rps, nginx.rps), ratio(s.cpuPerReq, nginx.cpuPerReq), ratio(s.p99, nginx.p99)
		}
		rows = append(rows, []string{t, fmt.Sprintf("%.0f", s.rps), ms(s.p50), ms(s.p99), cpu, vsDirect, vsN, cpuN, p99N,
			fmt.Sprintf("%.0f", s.errors), strconv.Itoa(s.rounds), fmt.Sprintf("%.0f/%.0f", s.othersPct, s.othersLG)})
	}
	printTable(rows)
	fmt.Println("(others %: median share of the proxies' CPU / of wrk's CPU that other processes used during the runs;")
	fmt.Println(" well above 0 means other work on the machine disturbed the req/s and latency numbers)")
	for _, t := range order {
		if why, bad := failedRouting[t]; bad {
			fmt.Printf("%s: routing check FAILED, not measured: %s\n", t, why)
		}
	}

	turnout, haveTurnout := sums["turnout"]
	if _, bad := failedRouting["turnout"]; bad {
		haveTurnout = false
	}
	withNginx := haveTurnout && haveNginx
	var goals []goal
	if withNginx {
		r := turnout.cpuPerReq / nginx.cpuPerReq
		goals = append(goals, goal{"CPU per request", "≤ 1.50× nginx", fmt.Sprintf("%.2f×", r), r <= 1.5, nginx.cpuPerReq > 0})
		r = turnout.rps / nginx.rps
		goals = append(goals, goal{"req/s", "≥ 0.75× nginx", fmt.Sprintf("%.2f×", r), r >= 0.75, true})
	} else {
		goals = append(goals, goal{"CPU per request", "≤ 1.50× nginx", "-", false, false}, goal{"req/s", "≥ 0.75× nginx", "-", false, false})
	}
	if haveTurnout && haveCaddy {
		r := turnout.rps / caddy.rps
		goals = append(goals, goal{"req/s", "≥ 3.00× caddy", fmt.Sprintf("%.2f×", r), r >= 3, true})
	} else {
		goals = append(goals, goal{"req/s", "≥ 3.00× caddy", "-", false, false})
	}
	if withNginx {
		r := turnout.p99 / nginx.p99
		goals = append(goals, goal{"p99 latency", "≤ 1.50× nginx", fmt.Sprintf("%.2f×", r), r <= 1.5, nginx.p99 > 0})
	} else {
		goals = append(goals, goal{"p99 latency", "≤ 1.50× nginx", "-", false, false})
	}
	if *rssKiB >= 0 {
		mib := *rssKiB / 1024
		got := fmt.Sprintf("%.1f MiB", mib)
		var notes []string
		if *idleKiB >= 0 {
			notes = append(notes, fmt.Sprintf("%.1f MiB before the load", *idleKiB/1024))
		}
		if *hwmKiB >= 0 {
			notes = append(notes, fmt.Sprintf("peak %.1f MiB", *hwmKiB/1024))
		}
		if len(notes) > 0 {
			got += " (" + strings.Join(notes, ", ") + ")"
		}
		if *rssRPS >= 0 {
			got += fmt.Sprintf(", %.0f req/s", *rssRPS)
		}
		if *rssErrors >= 0 {
			got += fmt.Sprintf(", %.0f errors", *rssErrors)
		}
		goals = append(goals, goal{"RSS after load, 1,000 services", "≤ 64 MiB", got, mib <= 64, true})
	} else {
		goals = append(goals, goal{"RSS after load, 1,000 services", "≤ 64 MiB", "not measured", false, false})
	}
	if *reloadMS >= 0 {
		got := fmt.Sprintf("%.0f ms (%s), %.0f errors during the swap", *reloadMS, *reloadStatus, *reloadErrors)
		if *reloadRPS >= 0 {
			got += fmt.Sprintf(", %.0f req/s", *reloadRPS)
		}
		ok := *reloadMS < 500 && *reloadErrors == 0 && strings.Contains(*reloadStatus, "applied")
		goals = append(goals, goal{"reload under load, 10,000 services", "< 500 ms, 0 errors", got, ok, true})
	} else {
		goals = append(goals, goal{"reload under load, 10,000 services", "< 500 ms, 0 errors", "not measured", false, false})
	}

	fmt.Println()
	fmt.Println("Turnout targets:")
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	failed := false
	for _, g := range goals {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", g.what, g.want, g.got, verdict(g))
		if g.known && !g.ok {
			failed = true
		}
	}
	_ = w.Flush()
	if *strict && failed {
		os.Exit(1)
	}
}

// printTable prints rows in columns: the first left-aligned, the rest right-aligned.
func printTable(rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Println(b.String())
	}
}

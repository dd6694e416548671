// Command soak runs a bounded mixed load against a real turnout process and
// checks that its resources stay flat: HTTP/1.1 and h2c GETs, gRPC duplex
// and server streams, WebSocket sessions; a configuration reload every
// -reload; a new rollout every -cycle that steps to 100 % and, every second
// cycle, a v2 that answers 500 for a while so that the rollout rolls back.
//
// It measures the process's RSS (/proc/PID/status), open descriptors
// (/proc/PID/fd) and goroutines (go_goroutines on the admin /metrics) at
// rest after a warm-up and again at rest after the load, prints both, and
// exits 1 when they grew beyond the tolerances (goroutines and descriptors
// +20, RSS ×1.5), when more than 0.1 % of operations failed in transport,
// when a run of at least two cycles saw no promotion or no rollback, or when
// turnout did not exit 0 on SIGTERM. scripts/soak.sh builds and runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

type options struct {
	bin                      string
	duration, warmup, reload time.Duration
	cycle, settle            time.Duration
	keep                     bool
}

func main() {
	var o options
	flag.StringVar(&o.bin, "turnout", "", "turnout binary (required)")
	flag.DurationVar(&o.duration, "duration", 10*time.Minute, "how long the measured load runs")
	flag.DurationVar(&o.warmup, "warmup", 0, "load before the first measurement (default duration/10 within [5s, 60s])")
	flag.DurationVar(&o.reload, "reload", 10*time.Second, "rewrite the configuration this often")
	flag.DurationVar(&o.cycle, "cycle", time.Minute, "start a new rollout this often; every second one breaks v2")
	flag.DurationVar(&o.settle, "settle", 3*time.Second, "rest before each measurement")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (config, state, turnout's log)")
	flag.Parse()
	if o.bin == "" {
		fmt.Fprintln(os.Stderr, "soak: -turnout BINARY is required")
		os.Exit(2)
	}
	if o.warmup <= 0 {
		o.warmup = min(max(o.duration/10, 5*time.Second), time.Minute)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "soak: FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("soak: PASS")
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "turnout-soak-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Println("soak: keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	env, err := startEnv(dir, o.bin)
	if err != nil {
		return err
	}
	defer env.close()
	fmt.Printf("soak: turnout pid %d, data %s, admin %s; warm-up %v, load %v, reload every %v, rollout cycle %v\n",
		env.gw.cmd.Process.Pid, env.gw.data, env.gw.admin, o.warmup, o.duration, o.reload, o.cycle)

	if err := env.phase(ctx, o.warmup, nil); err != nil {
		return err
	}
	start, err := env.rest(ctx, o.settle)
	if err != nil {
		return err
	}
	fmt.Printf("soak: start (after warm-up, at rest): %v\n", start)
	ctrl := newController(env, o)
	if err := env.phase(ctx, o.duration, ctrl.run); err != nil {
		return err
	}
	end, err := env.rest(ctx, o.settle)
	if err != nil {
		return err
	}
	metrics := append(metricLines(env.gw.admin, "turnout_config_reloads_total{"), metricLines(env.gw.admin, "turnout_rollbacks_total{")...)
	code := env.gw.stop()
	return report(env, ctrl, start, end, metrics, code, o)
}

// env is the soak's world: the backends, the turnout process and the load.
type env struct {
	dir     string
	path    string
	web     [2]*webBackend
	grpc    [2]*grpcBackend
	gw      *turnout
	load    *load
	began   time.Time
	samples []sample
}

func startEnv(dir, bin string) (*env, error) {
	e := &env{dir: dir, path: filepath.Join(dir, "turnout.yaml"), began: time.Now()}
	var err error
	for i, v := range []string{"v1", "v2"} {
		if e.web[i], err = startWeb(v); err != nil {
			e.close()
			return nil, err
		}
		if e.grpc[i], err = startGRPC(v); err != nil {
			e.close()
			return nil, err
		}
	}
	if err := writeConfig(e.path, e.config(0, 0)); err != nil {
		e.close()
		return nil, err
	}
	if e.gw, err = startTurnout(bin, e.path, filepath.Join(dir, "turnout.log")); err != nil {
		e.close()
		return nil, err
	}
	if e.load, err = newLoad(e.gw.data); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) config(cycle, rev int) string {
	return configText([2]string{e.web[0].addr, e.web[1].addr}, [2]string{e.grpc[0].addr, e.grpc[1].addr}, cycle, rev)
}

// close stops everything still running (turnout by its PID).
func (e *env) close() {
	if e.load != nil {
		e.load.close()
	}
	if e.gw != nil {
		select {
		case <-e.gw.exited:
		default:
			e.gw.kill()
		}
	}
	for i := range 2 {
		if e.web[i] != nil {
			e.web[i].close()
		}
		if e.grpc[i] != nil {
			e.grpc[i].close()
		}
	}
}

// phase runs the load for d (and side, when given, alongside it), sampling
// the process every 10 s.
func (e *env) phase(ctx context.Context, d time.Duration, side func(context.Context)) error {
	// A phase ends by cancellation, not by a deadline: dialers and gRPC
	// act on a context's deadline by themselves, before ctx.Err() says
	// the phase is over, which would count the cut operations as failures.
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	time.AfterFunc(d, cancel)
	e.load.run(pctx)
	done := make(chan struct{})
	if side != nil {
		go func() {
			defer close(done)
			side(pctx)
		}()
	} else {
		close(done)
	}
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	lastPrint := time.Now()
	for pctx.Err() == nil {
		select {
		case <-pctx.Done():
		case <-e.gw.exited:
			cancel()
			e.load.wait()
			<-done
			return fmt.Errorf("turnout exited during the load (code %d):\n%s", e.gw.exitCode, e.gw.logs())
		case <-tick.C:
			s, err := e.gw.measure(pctx)
			if err != nil {
				continue // the phase may just have ended
			}
			s.At = time.Since(e.began).Round(time.Second)
			e.samples = append(e.samples, s)
			if time.Since(lastPrint) >= time.Minute {
				lastPrint = time.Now()
				fmt.Printf("soak: %v under load: %v\n", s.At, s)
			}
		}
	}
	e.load.wait()
	<-done
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	return nil
}

// rest lets in-flight work finish and idle connections close, then
// measures.
func (e *env) rest(ctx context.Context, settle time.Duration) (sample, error) {
	sleep(ctx, settle)
	s, err := e.gw.measure(ctx)
	s.At = time.Since(e.began).Round(time.Second)
	return s, err
}

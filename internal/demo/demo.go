package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/examples"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/core"
	"github.com/turnout-gw/turnout/internal/gateway"
)

// Default addresses; when one is busy (and was not asked for explicitly)
// the demo takes a free port instead.
const (
	DefaultListen = "127.0.0.1:8080"
	DefaultAdmin  = "127.0.0.1:9901"
	DefaultRate   = 5.0
	// ConfigName is the name the embedded configuration is known by in
	// messages and positions.
	ConfigName = "examples/demo.yaml"
)

// Options configure Start.
type Options struct {
	// Listen is the data-plane address; "" means DefaultListen, or a free
	// loopback port when that is busy.
	Listen string
	// Admin is the admin/dashboard address; "" means DefaultAdmin, or a free
	// loopback port when that is busy.
	Admin string
	// Load drives light mixed traffic through the gateway.
	Load bool
	// Rate is the load in requests per second (DefaultRate when <= 0).
	Rate float64
	// FailAfter, when positive, makes the v2 sample answer 500 that long
	// after Start.
	FailAfter time.Duration
	// Log receives the gateway's and the demo's logs (slog.Default() when nil).
	Log *slog.Logger
}

// Demo is a running demo: two sample upstreams and a whole Turnout in front
// of them. Stop it with Stop.
type Demo struct {
	// V1 and V2 are the sample upstreams; their counters and Failing switch
	// may be used while the demo runs.
	V1, V2 *UsersAPI
	// V1URL and V2URL are the sample upstreams' base URLs.
	V1URL, V2URL string
	// App is the running Turnout.
	App *gateway.App
	// Config is the configuration Turnout was started with.
	Config *config.Config
	// URL is the data-plane base URL, AdminURL the admin (dashboard) base
	// URL; neither ends in a slash.
	URL, AdminURL string
	// Options are the options in effect (defaults filled in).
	Options Options

	log      *slog.Logger
	cancel   context.CancelFunc
	samples  []*http.Server
	wg       sync.WaitGroup
	loadDone chan struct{}
	stopOnce sync.Once
	stopErr  error
}

// Start binds the two sample upstreams on 127.0.0.1:0, starts Turnout with
// the embedded examples/demo.yaml pointed at them, and starts the load
// generator and the failure timer. Those two run until ctx is cancelled or
// Stop is called; everything else runs until Stop.
func Start(ctx context.Context, o Options) (*Demo, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Rate <= 0 {
		o.Rate = DefaultRate
	}
	d := &Demo{V1: Users("v1"), V2: Users("v2"), log: o.Log, loadDone: make(chan struct{})}
	var err error
	if d.V1URL, err = d.serveSample(d.V1); err != nil {
		return nil, err
	}
	if d.V2URL, err = d.serveSample(d.V2); err != nil {
		d.closeSamples()
		return nil, err
	}
	o.Listen = pickAddr(o.Listen, DefaultListen)
	o.Admin = pickAddr(o.Admin, DefaultAdmin)
	d.Options = o
	cfg, err := Config(o.Listen, o.Admin, d.V1URL, d.V2URL)
	if err != nil {
		d.closeSamples()
		return nil, err
	}
	d.Config = cfg
	app, err := gateway.Start(cfg, "", gateway.AppOptions{Log: o.Log})
	if err != nil {
		d.closeSamples()
		return nil, fmt.Errorf("starting turnout: %w", err)
	}
	d.App = app
	d.URL = "http://" + app.Server.Addr()
	d.AdminURL = "http://" + app.Server.AdminAddr()

	bg, cancel := context.WithCancel(ctx)
	d.cancel = cancel
	if o.Load {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer close(d.loadDone)
			d.runLoad(bg, o.Rate)
		}()
	} else {
		close(d.loadDone)
	}
	if o.FailAfter > 0 {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.failAfter(bg, o.FailAfter)
		}()
	}
	return d, nil
}

// Config returns the embedded demo configuration with listen, admin.listen
// and the users-v1 / users-v2 targets replaced and state in memory,
// defaulted and validated.
func Config(listen, admin, v1URL, v2URL string) (*config.Config, error) {
	cfg, err := config.Decode(ConfigName, examples.DemoYAML)
	if err != nil {
		return nil, fmt.Errorf("embedded demo configuration: %w", err)
	}
	for name, target := range map[string]string{"users-v1": v1URL, "users-v2": v2URL} {
		u := cfg.Upstreams[name]
		if u == nil {
			return nil, fmt.Errorf("embedded demo configuration has no upstream %q", name)
		}
		u.Targets = []string{target}
	}
	cfg.Listen = listen
	cfg.Admin.Listen = admin
	cfg.State = "memory"
	cfg.ApplyDefaults()
	err = cfg.Validate()
	if err == nil {
		err = core.Validate(cfg)
	}
	if err != nil {
		return nil, configError(err)
	}
	return cfg, nil
}

// configError lists what is wrong once the addresses were put in. The
// positions are left out: they point into the embedded file, while the
// culprit is almost always an address given on the command line.
func configError(err error) error {
	es := config.Flatten(err)
	if len(es) == 0 {
		return fmt.Errorf("demo configuration: %w", err)
	}
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Msg
	}
	return fmt.Errorf("demo configuration: %s", strings.Join(msgs, "; "))
}

// LoadDone is closed when the load generator has stopped (at once when the
// demo runs without load).
func (d *Demo) LoadDone() <-chan struct{} { return d.loadDone }

// Stop stops the load generator and the failure timer, drains Turnout
// (bounded by ctx) and closes the sample upstreams. It is idempotent.
func (d *Demo) Stop(ctx context.Context) error {
	d.stopOnce.Do(func() {
		d.cancel()
		d.wg.Wait()
		var errs []error
		if err := d.App.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping turnout: %w", err))
		}
		for _, s := range d.samples {
			if err := s.Shutdown(ctx); err != nil {
				_ = s.Close()
			}
		}
		d.stopErr = errors.Join(errs...)
	})
	return d.stopErr
}

// serveSample serves h on a free loopback port and returns its base URL.
func (d *Demo) serveSample(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("sample upstream listen: %w", err)
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	d.samples = append(d.samples, s)
	go func() {
		if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("sample upstream stopped", "addr", ln.Addr().String(), "error", err)
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

func (d *Demo) closeSamples() {
	for _, s := range d.samples {
		_ = s.Close()
	}
}

// failAfter flips V2.Failing after wait, unless ctx ends first.
func (d *Demo) failAfter(ctx context.Context, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
		d.V2.Failing.Store(true)
		d.log.Warn("demo: the v2 sample upstream now answers 500 (--fail-after)", "after", wait.String())
	}
}

// pickAddr returns want when given; otherwise def when it can be bound
// right now, else a free loopback port.
func pickAddr(want, def string) string {
	if want != "" {
		return want
	}
	ln, err := net.Listen("tcp", def)
	if err != nil {
		return "127.0.0.1:0"
	}
	_ = ln.Close()
	return def
}

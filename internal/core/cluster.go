package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/cluster"
	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/fleetstats"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/telemetry"
)

// fleet is the core's cluster member (the `cluster:` block): the backend,
// the store the engine writes through (the local store is its cache) and
// the runner that registers, leads and follows. A core without the block
// has none, and nothing of this file runs.
type fleet struct {
	backend *cluster.Etcd
	store   *cluster.Store
	runner  atomic.Pointer[cluster.Runner] // set by start
	rev     int64                          // the revision the first Load read; 0 when etcd was down
	self    cluster.Member
	log     *slog.Logger
	// adminAddr is the bound admin address, advertised when the
	// configuration does not say (admin.listen port 0).
	adminAddr string
	// stats is the leader's analysis source and the view's traffic;
	// config the configuration in force. Both set by Compile.
	stats  *fleetstats.Source
	config func() *config.Config
}

// errNotStarted: the member's runner has not started yet.
var errNotStarted = errors.New("cluster: this member has not started")

// loadTimeout bounds the first read of the fleet's state at start.
const loadTimeout = 5 * time.Second

// openFleet connects to the fleet of cfg.Cluster and reads its state into
// a cluster.Store over local. When etcd cannot be read the member starts
// from its cache, and says so; with nothing cached while rollouts are
// configured it refuses to start, rather than serve the file's weights.
func openFleet(cfg *config.Config, path string, local store.Store, adminAddr string, log *slog.Logger) (*fleet, error) {
	dir := "."
	if path != "" {
		dir = filepath.Dir(path)
	}
	o, err := cluster.EtcdOptionsFrom(cfg.Cluster, dir, log)
	if err != nil {
		return nil, err
	}
	b, err := cluster.OpenEtcd(o)
	if err != nil {
		return nil, err
	}
	f := &fleet{backend: b, store: cluster.NewStore(b, local, cfg.Cluster.Member, log), self: selfMember(cfg), log: log, adminAddr: adminAddr}
	f.self.Advertise = f.advertise(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	f.rev, err = f.store.Load(ctx)
	if err != nil {
		cached, _ := f.store.Rollouts()
		if len(cached) == 0 && hasRollouts(cfg) {
			_ = b.Close()
			return nil, fmt.Errorf("cluster: cannot read the fleet's state from etcd %v and no state is cached here (state: %s): refusing to serve the file's weights: %w",
				cfg.Cluster.Etcd.Endpoints, cfg.State, err)
		}
		log.Warn("cluster: etcd unreachable at start; serving the cached state until it answers", "cached", len(cached), "err", err)
	}
	return f, nil
}

func hasRollouts(cfg *config.Config) bool {
	for _, s := range cfg.Services {
		if s.Rollout != nil {
			return true
		}
	}
	return false
}

// selfMember is what this member publishes: its name and admin URL, the
// hash of each service's rollout spec and of all of them, its build.
func selfMember(cfg *config.Config) cluster.Member {
	m := cluster.Member{Name: cfg.Cluster.Member, Advertise: cfg.Cluster.Advertise, Specs: map[string]string{},
		Binary: binary(), StartedAt: time.Now().UTC()}
	var all strings.Builder
	for _, name := range cfg.ServiceNames() {
		if ro := cfg.Services[name].Rollout; ro != nil {
			h := rollout.SpecHash(ro)
			m.Specs[name] = h
			fmt.Fprintf(&all, "%s=%s\n", name, h)
		}
	}
	sum := sha256.Sum256([]byte(all.String()))
	m.SpecHash = hex.EncodeToString(sum[:8])
	return m
}

// advertise is cfg's advertised URL, or the bound admin address.
func (f *fleet) advertise(cfg *config.Config) string {
	if cfg.Cluster.Advertise != "" || f.adminAddr == "" {
		return cfg.Cluster.Advertise
	}
	scheme := "http://"
	if cfg.Admin.TLS != nil {
		scheme = "https://"
	}
	return scheme + f.adminAddr
}

// binary names this build: the module version and the VCS revision.
func binary() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	out := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			out += " " + s.Value[:12]
		}
	}
	return out
}

// start makes eng follow the fleet and returns what runs it: the runner,
// which runs eng's loop only while this member leads.
func (f *fleet) start(eng *rollout.Engine, tick time.Duration, m *telemetry.Metrics) func(ctx context.Context) {
	f.store.OnAdopt(func(s store.RolloutState) { eng.Adopt(s) })
	r := cluster.NewRunner(cluster.RunnerOptions{Backend: f.backend, Store: f.store, Self: f.self, Log: f.log,
		Lead: func(ctx context.Context) {
			// The fleet's state becomes the rollouts this leader is
			// configured with, then its loop runs.
			if err := eng.Reassert(); err != nil {
				f.log.Warn("cluster: writing the leader's rollouts", "err", err)
			}
			eng.Run(ctx, tick)
		},
		// What etcd refused while down (a reload's file weight) is
		// written once it answers again.
		Resynced: func() {
			if err := eng.Resync(); err != nil {
				f.log.Warn("cluster: writing the configuration's rollout states again", "err", err)
			}
		}})
	f.runner.Store(r)
	m.WatchCluster(metrics{r, f.store})
	return func(ctx context.Context) { r.Run(ctx, f.rev) }
}

// metrics is what telemetry.Metrics.WatchCluster reads: the runner's
// state and the store's refused writes.
type metrics struct {
	*cluster.Runner
	st *cluster.Store
}

func (m metrics) NotWritten() uint64 { return m.st.NotWritten() }

// reregister publishes this member's spec hashes again after a reload
// (not the first load: Run registers).
func (f *fleet) reregister(cfg *config.Config) {
	r := f.runner.Load()
	if r == nil {
		return
	}
	self := selfMember(cfg)
	self.StartedAt, self.Advertise = f.self.StartedAt, f.advertise(cfg)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
		defer cancel()
		if err := r.SetSelf(ctx, self); err != nil && !errors.Is(err, cluster.ErrClosed) {
			f.log.Warn("cluster: publishing the reloaded spec hashes", "err", err)
		}
	}()
}

// stepGuard holds a rollout's steps while the members disagree on its
// spec (rollout.WithStepGuard).
func (f *fleet) stepGuard(service string) string {
	if r := f.runner.Load(); r != nil && r.Leading() {
		return r.Disagreement(service)
	}
	return ""
}

// leading reports whether this member leads the fleet (false before it
// started).
func (f *fleet) leading() bool {
	r := f.runner.Load()
	return r != nil && r.Leading()
}

// inSync is nil while this member is in sync with the fleet.
func (f *fleet) inSync() error {
	r := f.runner.Load()
	if r == nil {
		return errNotStarted
	}
	_, err := r.Synced()
	return err
}

package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/store"
)

// EtcdOptions configure OpenEtcd.
type EtcdOptions struct {
	Endpoints []string
	// Prefix is the fleet's key prefix, without a trailing '/'.
	Prefix   string
	TLS      *tls.Config
	Username string
	Password string
	// Lease is the member's and the leader's lease (config.DefaultClusterLease
	// when 0), rounded down to whole seconds, at least one.
	Lease time.Duration
	// Timeout bounds every call (the lease when 0).
	Timeout time.Duration
	// MaxEvents is how many events the log keeps (DefaultEtcdEvents when
	// 0); older ones are deleted as new ones are appended.
	MaxEvents int
	Log       *slog.Logger
}

// EtcdOptionsFrom turns a cluster block into options: it reads the TLS
// files (relative to dir, the configuration's directory) and the password
// from its environment variable.
func EtcdOptionsFrom(c *config.Cluster, dir string, log *slog.Logger) (EtcdOptions, error) {
	o := EtcdOptions{Endpoints: c.Etcd.Endpoints, Prefix: c.Etcd.Prefix, Username: c.Etcd.Username, Lease: c.Lease.D(), Log: log}
	if env := c.Etcd.PasswordEnv; env != "" {
		pw, ok := os.LookupEnv(env)
		if !ok || pw == "" {
			return o, fmt.Errorf("cluster.etcd.password_env: the environment variable %s is empty", env)
		}
		o.Password = pw
	}
	if t := c.Etcd.TLS; t != nil {
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		rel := func(p string) string {
			if filepath.IsAbs(p) {
				return p
			}
			return filepath.Join(dir, p)
		}
		if t.CA != "" {
			pem, err := os.ReadFile(rel(t.CA))
			if err != nil {
				return o, fmt.Errorf("cluster.etcd.tls.ca: %w", err)
			}
			o.TLS.RootCAs = x509.NewCertPool()
			if !o.TLS.RootCAs.AppendCertsFromPEM(pem) {
				return o, fmt.Errorf("cluster.etcd.tls.ca: %s holds no PEM certificate", t.CA)
			}
		}
		if t.Cert != "" {
			cert, err := tls.LoadX509KeyPair(rel(t.Cert), rel(t.Key))
			if err != nil {
				return o, fmt.Errorf("cluster.etcd.tls: %w", err)
			}
			o.TLS.Certificates = []tls.Certificate{cert}
		}
	}
	return o, nil
}

// reconnectMax caps the wait between two dials of an unreachable etcd.
const reconnectMax = time.Second

// DefaultEtcdEvents is how many events the fleet's log keeps in etcd: a
// tenth of a local store's, since every member reads and etcd keeps each
// key's history until it is compacted.
const DefaultEtcdEvents = store.DefaultMaxEvents / 10

// Etcd is the Backend on etcd (go.etcd.io/etcd/client/v3). It owns its
// client, the member's lease (a concurrency.Session, renewed by a keeper
// goroutine started by the first Register) and its election; it is safe
// for concurrent use.
type Etcd struct {
	c         *clientv3.Client
	prefix    string
	ttl       int
	timeout   time.Duration
	maxEvents int
	log       *slog.Logger

	mu      sync.Mutex
	member  *Member               // the registered member; nil before Register
	sess    *concurrency.Session  // the live session; nil while there is none
	sessUp  chan struct{}         // closed when sess is set; replaced when it is lost
	elect   *concurrency.Election // set while this member leads
	lost    chan struct{}         // closed when leadership ends
	closed  bool
	done    chan struct{}   // closed by Close
	life    context.Context // the sessions' context, cancelled by Close
	endLife context.CancelFunc
	keeping bool      // the keeper runs
	keepErr error     // the keeper's last failure to register; nil once registered
	lostAt  time.Time // when the last lease was lost (or the keeper started)
	wg      sync.WaitGroup
	camps   sync.WaitGroup // campaign goroutines; waited after the client closes

	txns atomic.Uint64 // transactions sent (Txns)
}

var _ Backend = (*Etcd)(nil)

// OpenEtcd connects to etcd without waiting for it: a member started while
// etcd is down opens, and its calls fail with ErrUnavailable until etcd
// answers.
func OpenEtcd(o EtcdOptions) (*Etcd, error) {
	if len(o.Endpoints) == 0 {
		return nil, errors.New("cluster: no etcd endpoints")
	}
	if o.Lease <= 0 {
		o.Lease = config.DefaultClusterLease
	}
	ttl := max(int(o.Lease/time.Second), 1)
	if o.Timeout <= 0 {
		o.Timeout = time.Duration(ttl) * time.Second
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultEtcdEvents
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   o.Endpoints,
		DialTimeout: o.Timeout,
		TLS:         o.TLS,
		Username:    o.Username,
		Password:    o.Password,
		Logger:      zap.NewNop(),
		// Keepalives find a dead connection within a lease.
		DialKeepAliveTime:    time.Duration(ttl) * time.Second,
		DialKeepAliveTimeout: o.Timeout,
		// gRPC's default reconnect backoff grows to 120s (1s, 1.6s,
		// 2.6s, 4.1s, …): after a 10s outage the next dial came up to 6s
		// after etcd answered again. Capped at reconnectMax, a member is
		// back within about a second of etcd.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: reconnectMax},
			MinConnectTimeout: o.Timeout,
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: etcd client: %w", err)
	}
	life, endLife := context.WithCancel(context.Background())
	return &Etcd{c: c, prefix: o.Prefix, ttl: ttl, timeout: o.Timeout, maxEvents: o.MaxEvents, log: o.Log,
		sessUp: make(chan struct{}), done: make(chan struct{}), life: life, endLife: endLife}, nil
}

// Keys under the prefix.
func (e *Etcd) rolloutKey(service string) string { return e.prefix + "/rollouts/" + service }
func (e *Etcd) memberKey(name string) string     { return e.prefix + "/members/" + name }
func (e *Etcd) eventKey(seq uint64) string       { return fmt.Sprintf("%s/events/%020d", e.prefix, seq) }
func (e *Etcd) seqKey() string                   { return e.prefix + "/seq" }
func (e *Etcd) leaderPrefix() string             { return e.prefix + "/leader" }

// bound is ctx bounded by the backend's timeout.
func (e *Etcd) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.timeout)
}

// fail wraps err from op: ErrUnavailable when etcd did not answer in time
// or could not be reached, the caller's own cancellation as it is.
func (e *Etcd) fail(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("cluster: %s: %w", op, ctx.Err())
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("cluster: %s: %w: %w", op, ErrUnavailable, err)
	}
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
			return fmt.Errorf("cluster: %s: %w: %w", op, ErrUnavailable, err)
		}
	}
	return fmt.Errorf("cluster: %s: %w", op, err)
}

// Close resigns, revokes the lease (the member leaves at once), stops the
// keeper and closes the client. It is idempotent.
func (e *Etcd) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.done)
	sess := e.sess
	e.endLeadLocked()
	e.mu.Unlock()
	if sess != nil {
		ctx, cancel := e.bound(context.Background())
		_, _ = e.c.Revoke(ctx, sess.Lease())
		cancel()
	}
	e.endLife()
	e.wg.Wait()
	err := e.c.Close()
	e.camps.Wait() // a campaign's clean-up ends with the client
	return err
}

// isClosed reports whether Close was called.
func (e *Etcd) isClosed() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

package usage

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/store"
)

// Defaults of Options.
const (
	// DefaultMaxOperations bounds the operations kept per client; the
	// requests of further operations are counted in OtherOperations.
	DefaultMaxOperations = 32
	// DefaultFlushEvery is how often a Tracker writes what changed.
	DefaultFlushEvery = 5 * time.Second
	// RingMinutes is how far back Recent can look: a day of minutes.
	RingMinutes = 24 * 60
	// Hours is how many hours of each client's requests are kept (its
	// share over time).
	Hours = 24
	// maxOperationLen bounds an operation's name.
	maxOperationLen = 96
)

// Options configure a Tracker.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Store keeps the counts across restarts (nil: kept in memory only).
	Store store.Store
	Log   *slog.Logger
	// MaxOperations bounds the operations kept per client
	// (DefaultMaxOperations).
	MaxOperations int
	// FlushEvery is how often what changed is written to Store
	// (DefaultFlushEvery); Close writes it once more.
	FlushEvery time.Duration
	// Operation, when set, names a request's operation as its version's
	// OpenAPI document does ("GET /users/{id}"); it returns "" when it
	// does not know the request, which is then named by its method and
	// first path segment ("GET /users"). It is called on the request's
	// goroutine and must be fast, safe for concurrent use and return a
	// string it keeps (it is not copied for a known operation).
	Operation func(service, version, method, path string) string
}

// Tracker counts every request per service × version × client. It is safe
// for concurrent use: Record takes one lock, the service's; Configure,
// Flush and Close are serialised by another.
type Tracker struct {
	o        Options
	services atomic.Pointer[map[string]*service]

	mu     sync.Mutex // serialises Configure, Flush and Close
	stop   chan struct{}
	done   chan struct{}
	closed bool
}

// service is one service's key and bound (replaced at each Configure) and
// its counts (kept across reloads).
type service struct {
	name       string
	key        Key
	maxClients int
	declared   []string // the versions configured, sorted
	st         *state
}

// state is one service's counts, guarded by mu.
type state struct {
	mu       sync.Mutex
	versions []*version // the versions called, searched in order (a service has few)
	dirty    bool       // changed since the last flush
}

// version returns the counts of the version named name, nil when it was
// never called.
func (st *state) version(name string) *version {
	for _, v := range st.versions {
		if v.name == name {
			return v
		}
	}
	return nil
}

// fewClients is how many clients a version keeps in a list, searched in
// order, before it indexes them in a map.
const fewClients = 8

// version is one version's counts.
type version struct {
	name     string
	requests uint64
	// The clients, OtherClient among them once used: in few while there
	// are at most fewClients, then in many.
	few     []*client
	many    map[string]*client
	told    int    // clients told apart: the clients without OtherClient
	minutes series // unix minutes, the last RingMinutes
}

// client returns the client named key, nil when it is not counted yet.
func (v *version) client(key []byte) *client {
	if v.many != nil {
		return v.many[string(key)]
	}
	for _, c := range v.few {
		if c.name == string(key) {
			return c
		}
	}
	return nil
}

// add adds a client, moving the list to a map when it outgrows fewClients.
func (v *version) add(c *client) {
	if v.many == nil && len(v.few) < fewClients {
		v.few = append(v.few, c)
		return
	}
	if v.many == nil {
		v.many = make(map[string]*client, 2*fewClients)
		for _, o := range v.few {
			v.many[o.name] = o
		}
		v.few = nil
	}
	v.many[c.name] = c
}

// clients returns every client, in no particular order.
func (v *version) clients() []*client {
	if v.many == nil {
		return v.few
	}
	out := make([]*client, 0, len(v.many))
	for _, c := range v.many {
		out = append(out, c)
	}
	return out
}

// client is one client's counts on one version.
type client struct {
	name        string
	requests    uint64
	first, last int64     // unix nanoseconds
	ops         []opCount // at most Options.MaxOperations, searched in order
	otherOps    uint64
	hours       series // unix hours, the last Hours
}

// opCount is one operation's requests.
type opCount struct {
	name string
	n    uint64
}

// New returns a Tracker that counts nothing until Configure, and starts
// its flush loop; Close stops it.
func New(o Options) *Tracker {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.MaxOperations <= 0 {
		o.MaxOperations = DefaultMaxOperations
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = DefaultFlushEvery
	}
	t := &Tracker{o: o, stop: make(chan struct{}), done: make(chan struct{})}
	empty := map[string]*service{}
	t.services.Store(&empty)
	go t.loop()
	return t
}

func (t *Tracker) loop() {
	defer close(t.done)
	tick := time.NewTicker(t.o.FlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.Flush()
		}
	}
}

// Configure adopts cfg's services: their client keys and bounds. The
// counts of a service that stays are kept; a new service's are read from
// the store; a removed service's are written and let go.
func (t *Tracker) Configure(cfg *config.Config) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.services.Load()
	next := make(map[string]*service, len(cfg.Services))
	for _, name := range cfg.ServiceNames() {
		sc := cfg.Services[name]
		s := &service{name: name, maxClients: sc.Clients.Limit(), declared: sc.VersionNames()}
		if sc.Clients != nil {
			s.key = NewKey(sc.Clients.Key)
		}
		if prev := old[name]; prev != nil {
			s.st = prev.st
		} else {
			s.st = t.load(name)
		}
		next[name] = s
	}
	for name, s := range old {
		if next[name] == nil {
			t.flush(s)
		}
	}
	t.services.Store(&next)
}

// Record counts one request of service served by version (for a version
// served by another through an adapter, the version the client asked
// for). path is the request's path as the version sees it (its version
// segment stripped). r nil (a gRPC call of the in-process middleware)
// counts as NoClient calling "CALL /service". It allocates nothing for a known client and operation
// (unless the key is client_cert, whose subject is formatted each time).
func (t *Tracker) Record(serviceName, versionName string, r *http.Request, path string) {
	s := (*t.services.Load())[serviceName]
	if s == nil {
		return
	}
	var kb [96]byte
	key, method := append(kb[:0], NoClient...), "CALL"
	if r != nil {
		key, method = s.key.Append(kb[:0], r), r.Method
	}
	var ob [maxOperationLen + 16]byte
	op := ob[:0]
	if f := t.o.Operation; f != nil {
		if name := f(serviceName, versionName, method, path); name != "" {
			op = append(op, name...)
		}
	}
	if len(op) == 0 {
		op = appendOperation(op, method, path)
	}
	s.st.record(t.o.Now(), versionName, key, op, s.maxClients, t.o.MaxOperations)
}

// appendOperation appends a request's operation when no document names
// it: its method and first path segment ("GET /users").
func appendOperation(dst []byte, method, path string) []byte {
	seg := strings.TrimPrefix(path, "/")
	if i := strings.IndexByte(seg, '/'); i >= 0 {
		seg = seg[:i]
	}
	if len(method) > 16 {
		method = method[:16]
	}
	if len(seg) > maxOperationLen-len(method)-2 {
		seg = seg[:maxOperationLen-len(method)-2]
	}
	dst = append(dst, method...)
	dst = append(dst, " /"...)
	return append(dst, seg...)
}

// record counts one request at now. key and op are only read: they are
// copied when they become entries.
func (st *state) record(now time.Time, versionName string, key, op []byte, maxClients, maxOps int) {
	ns, minute, hour := now.UnixNano(), now.Unix()/60, now.Unix()/3600
	st.mu.Lock()
	defer st.mu.Unlock()
	st.dirty = true
	v := st.version(versionName)
	if v == nil {
		v = &version{name: versionName}
		st.versions = append(st.versions, v)
	}
	v.requests++
	v.minutes.add(minute, RingMinutes)
	c := v.client(key)
	if c == nil {
		name := OtherClient
		if v.told < maxClients && string(key) != OtherClient {
			name = string(key)
			v.told++
		}
		if c = v.client([]byte(name)); c == nil {
			c = &client{name: name, first: ns}
			v.add(c)
		}
	}
	c.requests++
	c.last = max(c.last, ns)
	c.hours.add(hour, Hours)
	for i := range c.ops {
		if c.ops[i].name == string(op) {
			c.ops[i].n++
			return
		}
	}
	if len(c.ops) < maxOps {
		c.ops = append(c.ops, opCount{string(op), 1})
	} else {
		c.otherOps++
	}
}

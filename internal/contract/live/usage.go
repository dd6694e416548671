package live

import (
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	clients "github.com/turnout-gw/turnout/internal/usage"
)

// Client names in deprecated usage that are not a client's key: the same
// as in the usage counts of every request (package usage).
const (
	// NoClient is a request without the client key (or any request when
	// no client_key is configured).
	NoClient = clients.NoClient
	// OtherClient counts the uses of clients beyond the MaxClients a
	// service tells apart.
	OtherClient = clients.OtherClient
	// maxClientLen bounds a client value kept as it was sent.
	maxClientLen = clients.MaxClientLen
)

// clientKey reads the client of a request: contract.client_key, read and
// hashed as the usage counts read services.NAME.clients.key (clients.Key).
type clientKey struct{ clients.Key }

// newClientKey compiles a client key.
func newClientKey(k config.StickyKey) clientKey {
	return clientKey{clients.NewKey(config.ClientKey{Kind: k.Kind, Name: k.Name})}
}

// value returns the request's client: NoClient without a value, the value
// (cut to maxClientLen) or its hash.
func (c clientKey) value(r *http.Request) string { return c.Client(r) }

// HashClient is how a credential appears as a client (clients.HashClient).
func HashClient(v string) string { return clients.HashClient(v) }

// usage counts the uses of deprecated operations and parameters of one
// service per (version, operation, parameter, client), with the clients
// told apart bounded. It is safe for concurrent use.
type usage struct {
	mu         sync.Mutex
	entries    map[useKey]*useStats
	clients    map[string]struct{}
	maxClients int
	overflow   uint64 // uses counted under OtherClient
	dirty      bool   // changed since the last snapshot
}

type useKey struct{ version, operation, parameter, client string }

type useStats struct {
	count       uint64
	first, last time.Time
}

func newUsage(maxClients int) *usage {
	return &usage{entries: map[useKey]*useStats{}, clients: map[string]struct{}{}, maxClients: maxClients}
}

// record counts one use at now.
func (u *usage) record(now time.Time, version, operation, parameter, client string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.clients[client]; !ok {
		if len(u.clients) >= u.maxClients {
			client = OtherClient
			u.overflow++
		} else {
			client = strings.Clone(client)
			u.clients[client] = struct{}{}
		}
	}
	k := useKey{version, operation, parameter, client}
	st := u.entries[k]
	if st == nil {
		st = &useStats{first: now}
		u.entries[k] = st
	}
	st.count++
	st.last = now
	u.dirty = true
}

// Use is one row of GET /api/v1/deprecations/{service}: who called which
// deprecated operation (or used which deprecated parameter of it), how
// often, and when first and last.
type Use struct {
	Version   string `json:"version"`
	Operation string `json:"operation"`
	// Parameter is "" for the use of a deprecated operation, else the
	// deprecated parameter used ("query:q", "header:X-Old").
	Parameter string    `json:"parameter,omitempty"`
	Client    string    `json:"client"`
	Count     uint64    `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// list returns every row, the most recently seen first, the number of
// clients told apart and the uses counted under OtherClient.
func (u *usage) list() ([]Use, int, uint64) {
	u.mu.Lock()
	out := make([]Use, 0, len(u.entries))
	for k, st := range u.entries {
		out = append(out, Use{Version: k.version, Operation: k.operation, Parameter: k.parameter, Client: k.client,
			Count: st.count, FirstSeen: st.first.UTC(), LastSeen: st.last.UTC()})
	}
	clients, overflow := len(u.clients), u.overflow
	u.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.LastSeen.Equal(b.LastSeen) {
			return a.LastSeen.After(b.LastSeen)
		}
		if a.Operation != b.Operation {
			return a.Operation < b.Operation
		}
		if a.Parameter != b.Parameter {
			return a.Parameter < b.Parameter
		}
		return a.Client < b.Client
	})
	return out, clients, overflow
}

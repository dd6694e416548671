package config

import (
	"fmt"
	"strings"
)

// Clients says how a service tells its callers apart for the usage counts
// of every request (internal/usage: who still calls each version).
type Clients struct {
	Meta `yaml:"-"`
	// Key is where a request's client is read: header:NAME, cookie:NAME,
	// query:NAME, client_cert (the subject of the verified client
	// certificate) or address (the client's IP address). Credentials are
	// shown only as a hash.
	Key ClientKey `yaml:"key"`
	// MaxClients bounds the clients told apart per version
	// (DefaultMaxClients); the requests of any further client are counted
	// under "(other)".
	MaxClients int `yaml:"max_clients"`
}

// DefaultMaxClients is clients.max_clients when not set.
const DefaultMaxClients = 1000

// MaxClientsLimit is the largest clients.max_clients accepted.
const MaxClientsLimit = 100_000

// The kinds of a ClientKey besides those of a StickyKey.
const (
	ClientKeyCert    = "client_cert"
	ClientKeyAddress = "address"
)

// ClientKey names where a request's client is read: a StickyKey's kinds
// (header, cookie, query, with a name) or client_cert or address (without
// one). The zero value reads no client.
type ClientKey struct {
	Kind string // header | cookie | query | client_cert | address
	Name string // for header, cookie and query
}

// IsZero reports whether no key is set.
func (k ClientKey) IsZero() bool { return k.Kind == "" }

// String formats the key as in the file.
func (k ClientKey) String() string {
	if k.Name == "" {
		return k.Kind
	}
	return k.Kind + ":" + k.Name
}

// Sticky returns the key as a StickyKey (zero for client_cert and address).
func (k ClientKey) Sticky() StickyKey {
	switch k.Kind {
	case "header", "cookie", "query":
		return StickyKey{Kind: k.Kind, Name: k.Name}
	}
	return StickyKey{}
}

// ParseClientKey parses header:NAME, cookie:NAME, query:NAME, client_cert
// or address.
func ParseClientKey(s string) (ClientKey, error) {
	switch t := strings.TrimSpace(s); t {
	case ClientKeyCert, ClientKeyAddress:
		return ClientKey{Kind: t}, nil
	}
	k, err := ParseStickyKey(s)
	if err != nil {
		return ClientKey{}, fmt.Errorf("invalid client key %q (use header:NAME, cookie:NAME, query:NAME, client_cert or address)", s)
	}
	return ClientKey{Kind: k.Kind, Name: k.Name}, nil
}

func (k *ClientKey) parseScalar(s string) error {
	v, err := ParseClientKey(s)
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Validate checks a clients block: a key is required and max_clients is
// between 1 and MaxClientsLimit when set.
func (c *Clients) Validate() error {
	var col collector
	if c.Key.IsZero() {
		col.add(c.missing("key", "required: where the client is read, e.g. key: header:X-Client-ID (or cookie:NAME, query:NAME, client_cert, address)"))
	} else if _, err := ParseClientKey(c.Key.String()); err != nil {
		col.add(c.problem("key", "%v", err))
	}
	if c.MaxClients < 0 || c.MaxClients > MaxClientsLimit || (c.MaxClients == 0 && c.Has("max_clients")) {
		col.add(c.problem("max_clients", "must be between 1 and %d (default %d), not %d", MaxClientsLimit, DefaultMaxClients, c.MaxClients))
	}
	return col.err()
}

// Limit returns max_clients, DefaultMaxClients when not set.
func (c *Clients) Limit() int {
	if c == nil || c.MaxClients <= 0 {
		return DefaultMaxClients
	}
	return c.MaxClients
}

func (c *Clients) sameAs(o *Clients) bool { return c.Key == o.Key && c.MaxClients == o.MaxClients }

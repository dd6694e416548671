package usage

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"strings"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
)

// Client names that are not a client's key.
const (
	// NoClient is a request without the client key (or any request when
	// no key is configured).
	NoClient = "(none)"
	// OtherClient counts the requests of clients beyond the number told
	// apart.
	OtherClient = "(other)"
	// MaxClientLen bounds a client value kept as it was sent.
	MaxClientLen = 64
)

// Key reads the client of a request: a header, cookie or query parameter
// (hashed when it is a credential), the subject of the verified client
// certificate, or the client's IP address. The zero Key reads NoClient. A
// Key is immutable.
type Key struct {
	sticky route.StickyKey
	kind   string
	hash   bool
}

// credentialHeaders are the headers whose values are credentials.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "Api-Key"}

// NewKey compiles a client key. Values are credentials, and shown only as
// a hash, when they come from a cookie, from one of credentialHeaders, or
// from a header or query parameter whose name mentions a key, token,
// secret or session.
func NewKey(k config.ClientKey) Key {
	switch k.Kind {
	case "":
		return Key{}
	case config.ClientKeyCert, config.ClientKeyAddress:
		return Key{kind: k.Kind}
	}
	c := Key{sticky: route.NewStickyKey(k.Sticky()), kind: k.Kind, hash: k.Kind == "cookie"}
	for _, h := range credentialHeaders {
		if k.Kind == "header" && strings.EqualFold(k.Name, h) {
			c.hash = true
		}
	}
	lower := strings.ToLower(k.Name)
	for _, w := range []string{"key", "token", "secret", "session"} {
		if strings.Contains(lower, w) {
			c.hash = true
		}
	}
	return c
}

// String formats the key as in the configuration ("" for the zero Key).
func (k Key) String() string {
	switch k.kind {
	case "", config.ClientKeyCert, config.ClientKeyAddress:
		return k.kind
	}
	return k.sticky.String()
}

// Hashed reports whether the key's values are credentials shown as a hash.
func (k Key) Hashed() bool { return k.hash }

// Client returns the request's client: NoClient without a value, the value
// (cut to MaxClientLen) or its hash.
func (k Key) Client(r *http.Request) string {
	var buf [80]byte
	return string(k.Append(buf[:0], r))
}

// Append appends the request's client (as Client returns it) to dst. It
// allocates nothing for a header, query or address key whose value is not
// a credential, nor for a hashed one when dst has room for the hash.
func (k Key) Append(dst []byte, r *http.Request) []byte {
	v := ""
	switch k.kind {
	case "":
	case config.ClientKeyAddress:
		v = address(r.RemoteAddr)
	case config.ClientKeyCert:
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
			v = r.TLS.VerifiedChains[0][0].Subject.String()
		}
	default:
		v = k.sticky.Value(r)
	}
	switch {
	case v == "":
		return append(dst, NoClient...)
	case k.hash:
		return appendHash(dst, v)
	case len(v) > MaxClientLen:
		return append(dst, v[:MaxClientLen]...)
	}
	return append(dst, v...)
}

// address is the IP of a host:port remote address (the whole value when it
// has no port).
func address(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// HashClient is how a credential appears as a client: "sha256:" and the
// first 16 hex digits of the SHA-256 of the whole value as sent (for
// Authorization, "Bearer TOKEN"), so its owner can recognise it with
// `printf %s "$VALUE" | sha256sum | cut -c1-16` and nobody can use it.
func HashClient(v string) string {
	var buf [32]byte
	return string(appendHash(buf[:0], v))
}

func appendHash(dst []byte, v string) []byte {
	sum := sha256.Sum256([]byte(v))
	dst = append(dst, "sha256:"...)
	return hex.AppendEncode(dst, sum[:8])
}

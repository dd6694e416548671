package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
)

// Principal is who a request authenticated as: a token's name and role.
// The zero Principal is an unauthenticated caller of an API without tokens.
type Principal struct {
	Name string
	Role string // config.RoleViewer | config.RoleOperator
}

// EnvTokenName is the name events record for the single operator token of
// admin.token_env.
const EnvTokenName = "token_env"

// Tokens is the set of bearer tokens the API accepts. It is immutable.
type Tokens struct {
	entries []tokenEntry
	// readsNeedToken is set when named tokens (a tokens file) are
	// configured: then every API read needs a viewer or operator token.
	readsNeedToken bool
}

type tokenEntry struct {
	p    Principal
	hash [sha256.Size]byte
}

// NewTokens builds the token set from a tokens file (nil when none) and
// the token of admin.token_env ("" when unset), which is an operator token
// named EnvTokenName. A file's sha256 entries were validated by
// config.LoadTokens.
func NewTokens(file *config.TokensFile, envToken string) *Tokens {
	t := &Tokens{}
	if envToken != "" {
		t.entries = append(t.entries, tokenEntry{p: Principal{Name: EnvTokenName, Role: config.RoleOperator}, hash: sha256.Sum256([]byte(envToken))})
	}
	if file != nil {
		t.readsNeedToken = true
		for _, e := range file.Tokens {
			te := tokenEntry{p: Principal{Name: e.Name, Role: e.Role}}
			if e.SHA256 != "" {
				_, _ = hex.Decode(te.hash[:], []byte(strings.ToLower(e.SHA256)))
			} else {
				te.hash = sha256.Sum256([]byte(e.Token))
			}
			t.entries = append(t.entries, te)
		}
	}
	return t
}

// lookup finds the principal of a presented token, comparing its SHA-256
// with every entry in constant time.
func (t *Tokens) lookup(presented string) (Principal, bool) {
	h := sha256.Sum256([]byte(presented))
	var found Principal
	ok := 0
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(h[:], e.hash[:]) == 1 && ok == 0 {
			found, ok = e.p, 1
		}
	}
	return found, ok == 1
}

func (t *Tokens) open() bool { return t == nil || len(t.entries) == 0 }

type principalKey struct{}

// actor names who asked for a mutation, for the audit log: "api" without
// tokens, "api:NAME" with the token named NAME.
func actor(r *http.Request) string {
	if p, _ := r.Context().Value(principalKey{}).(Principal); p.Name != "" {
		return "api:" + p.Name
	}
	return "api"
}

// guard wraps an endpoint with the admin port's checks: the Host must be
// an address of the port (see access.go); a mutation must come from no
// page or the port's own (Origin), and without any token it must declare
// a JSON body. Then authentication: reads are open unless a tokens file is
// configured; mutations need an operator token whenever any token is
// configured. Missing token → 401, a viewer acting → 403. Wrong tokens are
// logged and counted per source (authLimiter); a source past its budget
// gets 429 for every wrong token, while a valid token is always let
// through, so that no one can lock the operator out by guessing from the
// operator's address.
func (a *API) guard(h http.HandlerFunc, mutation bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.misdirectedHost(w, r) || (mutation && a.foreignOrigin(w, r)) {
			return
		}
		toks := a.tokens()
		if toks.open() {
			if !mutation || !notJSON(w, r) {
				h(w, r)
			}
			return
		}
		if !mutation && !toks.readsNeedToken {
			h(w, r)
			return
		}
		p, ok := a.authenticate(w, r, toks)
		if !ok {
			return
		}
		if mutation && p.Role != config.RoleOperator {
			a.log.Warn("admin: viewer token refused an action", "token", p.Name, "remote", clientIP(r), "method", r.Method, "path", r.URL.Path)
			WriteError(w, http.StatusForbidden, fmt.Errorf("token %q has role %s; actions need an operator token", p.Name, p.Role))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

// guardInternal wraps an endpoint meant for the other members of a fleet
// (GET /api/v1/internal/stats): the Host must be an address of the port,
// and a valid token (viewer or operator) is needed whatever else is
// configured, reads included; without any token configured the endpoint
// is refused (403), never open.
func (a *API) guardInternal(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.misdirectedHost(w, r) {
			return
		}
		toks := a.tokens()
		if toks.open() {
			WriteError(w, http.StatusForbidden, errors.New("internal endpoints need an admin token: set admin.token_env or a tokens file"))
			return
		}
		if p, ok := a.authenticate(w, r, toks); ok {
			h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		}
	}
}

// authenticate finds the principal of r's bearer token among toks. When
// there is none, or it is wrong, it answers 401 (or 429 for a source past
// its budget of failures) and reports false.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request, toks *Tokens) (Principal, bool) {
	src := source(r)
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	got = strings.TrimSpace(got)
	if !ok || got == "" {
		unauthorized(w, "missing bearer token")
		return Principal{}, false
	}
	p, ok := toks.lookup(got)
	if !ok {
		if wait := a.limiter.blocked(src); wait > 0 {
			a.log.Warn("admin: authentication refused, too many failures", "source", src, "method", r.Method, "path", r.URL.Path)
			w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
			WriteError(w, http.StatusTooManyRequests, errors.New("too many failed authentications from this address; try again later"))
			return Principal{}, false
		}
		a.limiter.fail(src)
		a.log.Warn("admin: authentication failed", "remote", clientIP(r), "method", r.Method, "path", r.URL.Path)
		unauthorized(w, "invalid bearer token")
		return Principal{}, false
	}
	return p, true
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="turnout"`)
	WriteError(w, http.StatusUnauthorized, errors.New(msg))
}

// clientIP is the host of the connection's remote address (the admin port
// does not trust forwarding headers).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// source is what failed authentications are counted by: the client's IPv4
// address, or the /64 network of an IPv6 one (one host commonly holds a
// whole /64, and could otherwise change address at every guess).
func source(r *http.Request) string {
	ip := clientIP(r)
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	p, _ := addr.Prefix(64)
	return p.String()
}

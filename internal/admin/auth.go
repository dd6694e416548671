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
	"strconv"
	"strings"

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

// guard wraps an endpoint with authentication: reads are open unless a
// tokens file is configured; mutations need an operator token whenever
// any token is configured. Missing token → 401, a viewer acting → 403, a
// client that failed too often → 429. Wrong tokens are counted per client
// IP and logged.
func (a *API) guard(h http.HandlerFunc, mutation bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		toks := a.tokens()
		if toks.open() || (!mutation && !toks.readsNeedToken) {
			h(w, r)
			return
		}
		ip := clientIP(r)
		if wait := a.limiter.blocked(ip); wait > 0 {
			a.log.Warn("admin: authentication refused, too many failures", "remote", ip, "method", r.Method, "path", r.URL.Path)
			w.Header().Set("Retry-After", strconv.Itoa(int((wait+999_999_999)/1_000_000_000)))
			WriteError(w, http.StatusTooManyRequests, errors.New("too many failed authentications from this address; try again later"))
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got = strings.TrimSpace(got)
		if !ok || got == "" {
			unauthorized(w, "missing bearer token")
			return
		}
		p, ok := toks.lookup(got)
		if !ok {
			a.limiter.fail(ip)
			a.log.Warn("admin: authentication failed", "remote", ip, "method", r.Method, "path", r.URL.Path)
			unauthorized(w, "invalid bearer token")
			return
		}
		if mutation && p.Role != config.RoleOperator {
			a.log.Warn("admin: viewer token refused an action", "token", p.Name, "remote", ip, "method", r.Method, "path", r.URL.Path)
			WriteError(w, http.StatusForbidden, fmt.Errorf("token %q has role %s; actions need an operator token", p.Name, p.Role))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
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

package trust

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
)

// Sources of removed colour: the `source` label of
// turnout_untrusted_colour_total, the String of route.Removed's kinds.
const (
	SourceHeader    = "header"
	SourceCookie    = "cookie"
	SourceQuery     = "query"
	SourcePin       = "pin"
	SourceSignature = "signature" // a signature that did not verify
)

// Policy is a compiled trust block. It is immutable once New returns and
// safe for concurrent use.
type Policy struct {
	networks []netip.Prefix
	proxies  []netip.Prefix
	spec     *config.Trust

	colours keys // removed from untrusted requests
	signed  keys // what a signature covers: colours and refused pin keys

	sigHeader string // canonical; "" without signed colour
	key       []byte // nil when the key variable is unset: no signature verifies
	maxAge    time.Duration

	now    func() time.Time
	report func(service, source string)
	log    *slog.Logger
	logged *atomic.Int64 // unix second of the last log line (shared across reloads is not needed)
}

// keys are request values by kind; header names are canonical.
type keys struct{ headers, cookies, queries []string }

func (k *keys) add(sk config.StickyKey) {
	switch sk.Kind {
	case "header":
		k.headers = appendNew(k.headers, canonical(sk.Name))
	case "cookie":
		k.cookies = appendNew(k.cookies, sk.Name)
	case "query":
		k.queries = appendNew(k.queries, sk.Name)
	}
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// Option configures New.
type Option func(*Policy) error

// WithClock sets the clock signatures are checked against (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(p *Policy) error {
		if now == nil {
			return errors.New("trust: nil clock")
		}
		p.now = now
		return nil
	}
}

// WithReport is called once per request and kind of colour removed, with
// the service the request went to ("" for none). It must be fast and safe
// for concurrent use.
func WithReport(f func(service, source string)) Option {
	return func(p *Policy) error {
		if f == nil {
			return errors.New("trust: nil report")
		}
		p.report = f
		return nil
	}
}

// WithLogger sets the logger of removed colour (debug level, at most one
// line a second; default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(p *Policy) error {
		if l == nil {
			return errors.New("trust: nil logger")
		}
		p.log = l
		return nil
	}
}

// WithKey sets the signature key instead of reading the environment
// variable the configuration names.
func WithKey(key []byte) Option {
	return func(p *Policy) error { p.key = key; return nil }
}

// New compiles a validated trust block against the routing table it will
// guard. A nil block is no policy: New returns nil, nil and every request
// is trusted. The signature key is read from the environment variable the
// block names; when it is unset no signature verifies (fail closed).
func New(spec *config.Trust, table *route.Table, opts ...Option) (*Policy, error) {
	if spec == nil {
		return nil, nil
	}
	p := &Policy{spec: spec, now: time.Now, report: func(string, string) {}, log: slog.Default(), logged: new(atomic.Int64)}
	var err error
	if p.networks, err = prefixes(spec.Networks); err != nil {
		return nil, spec.Errorf("networks", "%v", err)
	}
	if p.proxies, err = prefixes(spec.Proxies); err != nil {
		return nil, spec.Errorf("proxies", "%v", err)
	}
	for _, k := range table.Colours() {
		p.colours.add(k)
	}
	for _, k := range spec.Strip {
		p.colours.add(k)
	}
	p.signed = keys{headers: append([]string(nil), p.colours.headers...), cookies: append([]string(nil), p.colours.cookies...),
		queries: append([]string(nil), p.colours.queries...)}
	for _, s := range table.Services() {
		if spec.RefusesPins(s.Name) {
			for _, k := range s.PinKeys() {
				p.signed.add(k)
			}
		}
	}
	for _, k := range []*keys{&p.colours, &p.signed} {
		slices.Sort(k.headers)
		slices.Sort(k.cookies)
		slices.Sort(k.queries)
	}
	if s := spec.Signature; s != nil {
		p.sigHeader = canonical(orDefault(s.Header, config.DefaultSignatureHeader))
		p.maxAge = s.MaxAge.D()
		if p.maxAge <= 0 {
			p.maxAge = config.DefaultSignatureMaxAge
		}
		if v := os.Getenv(s.KeyEnv); v != "" {
			p.key = []byte(v)
		}
	}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, err
		}
	}
	if p.sigHeader != "" && len(p.key) == 0 {
		p.log.Warn("trust.signature: the key variable is not set; no signed colour is trusted", "key_env", spec.Signature.KeyEnv)
	}
	return p, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func prefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, err
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Decide routes r with t after applying the policy: an untrusted request
// loses its colour (and, for a service that refuses pins, its pin) before
// t decides. The decision says what the policy concluded: Trusted (from a
// trusted network or validly signed) and Removed, which every applier
// reads there (Envoy's ext_authz answer in internal/xds honours or ignores
// a pin by it). Decide modifies r's header and URL in place and allocates
// nothing when there is nothing to remove. A nil Policy trusts everything.
func (p *Policy) Decide(t *route.Table, r *http.Request) route.Decision {
	return p.DecideWith(t, r, route.Input{})
}

// DecideWith is Decide with what the applier gathered from r before
// deciding (route.Input: the body a body source reads). A refused pin is
// refused from the body too: DecideUnpinned negotiates nothing.
func (p *Policy) DecideWith(t *route.Table, r *http.Request, in route.Input) route.Decision {
	if p == nil {
		return t.DecideWith(r, in)
	}
	var removed route.Removed
	trusted := p.fromTrustedNetwork(r)
	if p.sigHeader != "" {
		if vs, ok := r.Header[p.sigHeader]; ok {
			if !trusted {
				trusted = p.verify(vs, r)
				if !trusted {
					removed |= route.RemovedSignature
				}
			}
			delete(r.Header, p.sigHeader) // a credential for Turnout, not for the upstream
		}
	}
	if !trusted {
		removed |= p.colours.strip(r)
	}
	d := t.DecideWith(r, in)
	if !trusted && d.Negotiated() && p.spec.RefusesPins(d.Service.Name) {
		var pk keys
		for _, k := range d.Service.PinKeys() {
			pk.add(k)
		}
		pk.strip(r)
		d = t.DecideUnpinned(r)
		removed |= route.RemovedPin
	}
	d.Trusted, d.Removed = trusted, removed
	if removed != 0 {
		p.account(&d, r)
	}
	return d
}

// account reports and (rate limited) logs what was removed from r
// (d.Removed).
func (p *Policy) account(d *route.Decision, r *http.Request) {
	service := ""
	if d.Service != nil {
		service = d.Service.Name
	}
	for _, k := range route.RemovedKinds {
		if d.Removed.Has(k) {
			p.report(service, k.String())
		}
	}
	if sec := p.now().Unix(); p.logged.Load() != sec && p.log.Enabled(r.Context(), slog.LevelDebug) {
		p.logged.Store(sec)
		p.log.Debug("untrusted colour removed", "service", service, "remote", r.RemoteAddr, "removed", d.Removed.String())
	}
}

// fromTrustedNetwork reports whether r's client address is in the trusted
// networks: the peer's address, or when the peer is a trusted proxy the
// right-most X-Forwarded-For entry that is not one.
func (p *Policy) fromTrustedNetwork(r *http.Request) bool {
	if len(p.networks) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	client := ap.Addr().Unmap()
	if len(p.proxies) > 0 && contains(p.proxies, client) {
		client = p.forwardedClient(r.Header["X-Forwarded-For"], client)
	}
	return client.IsValid() && contains(p.networks, client)
}

// forwardedClient walks X-Forwarded-For from the right past trusted
// proxies. An unparsable entry ends the walk untrusted (the zero Addr);
// a chain of proxies only leaves the left-most of them.
func (p *Policy) forwardedClient(lines []string, peer netip.Addr) netip.Addr {
	client := peer
	for i := len(lines) - 1; i >= 0; i-- {
		line := lines[i]
		for line != "" {
			var entry string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				entry, line = line[j+1:], line[:j]
			} else {
				entry, line = line, ""
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			a, err := netip.ParseAddr(entry)
			if err != nil {
				return netip.Addr{}
			}
			client = a.Unmap()
			if !contains(p.proxies, client) {
				return client
			}
		}
	}
	return client
}

func contains(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

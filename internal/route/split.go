package route

import (
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/turnout-gw/turnout/internal/config"
)

// Buckets is the resolution of every weighted split: a key hashes to one of
// Buckets buckets, so weights are honoured to 1/10,000 of a percent.
const Buckets = 1_000_000

// WeightThreshold converts a percentage (0..100, decimals allowed) into the
// number of buckets below which a request goes to the weighted side.
func WeightThreshold(percent float64) uint64 {
	if percent <= 0 {
		return 0
	}
	if percent >= 100 {
		return Buckets
	}
	return uint64(percent*Buckets/100 + 0.5)
}

// Salt derives a per-split salt from a name, so that two splits (two
// experiments, or an experiment and a rollout) do not assign the same users
// together.
func Salt(parts ...string) uint64 {
	return xxhash.Sum64String(strings.Join(parts, "\x00"))
}

// mix is the splitmix64 finaliser: it spreads a salted hash evenly.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// BucketOf returns the bucket of a sticky key under a salt.
func BucketOf(key string, salt uint64) uint64 {
	return mix(xxhash.Sum64String(key)^salt) % Buckets
}

// StickyKey is a compiled sticky key: where to read the value a split is
// sticky on. The zero value means per request.
type StickyKey struct {
	kind uint8 // 0 none, 1 header, 2 cookie, 3 query
	name string
}

const (
	stickyNone uint8 = iota
	stickyHeader
	stickyCookie
	stickyQuery
)

// NewStickyKey compiles a configured key, for other packages that read the
// same kinds of request values (the contract package's client key and
// deprecated parameters).
func NewStickyKey(k config.StickyKey) StickyKey { return compileSticky(k) }

func compileSticky(k config.StickyKey) StickyKey {
	switch k.Kind {
	case "header":
		return StickyKey{kind: stickyHeader, name: textproto.CanonicalMIMEHeaderKey(k.Name)}
	case "cookie":
		return StickyKey{kind: stickyCookie, name: k.Name}
	case "query":
		return StickyKey{kind: stickyQuery, name: k.Name}
	}
	return StickyKey{}
}

// String formats the key as in the configuration.
func (k StickyKey) String() string {
	switch k.kind {
	case stickyHeader:
		return "header:" + k.name
	case stickyCookie:
		return "cookie:" + k.name
	case stickyQuery:
		return "query:" + k.name
	}
	return ""
}

// Value reads the key's value from the request; "" when absent or per request.
func (k StickyKey) Value(r *http.Request) string {
	switch k.kind {
	case stickyHeader:
		return headerValue(r.Header, k.name)
	case stickyCookie:
		return cookieValue(r.Header, k.name)
	case stickyQuery:
		return queryValue(r.URL.RawQuery, k.name)
	}
	return ""
}

// headerValue returns the first value of a canonical header name, trimmed.
func headerValue(h http.Header, canon string) string {
	if vs := h[canon]; len(vs) > 0 {
		return strings.TrimSpace(vs[0])
	}
	return ""
}

// cookieValue finds a cookie by name across every Cookie header without
// allocating (http.Request.Cookie parses and allocates every cookie).
func cookieValue(h http.Header, name string) string {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if ok && k == name {
				if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				return v
			}
		}
	}
	return ""
}

// queryValue finds a query parameter by name without allocating unless the
// value is escaped.
func queryValue(raw, name string) string {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(part, "=")
		if k != name {
			if strings.ContainsAny(k, "%+") {
				if uk, err := url.QueryUnescape(k); err != nil || uk != name {
					continue
				}
			} else {
				continue
			}
		}
		if strings.ContainsAny(v, "%+") {
			if uv, err := url.QueryUnescape(v); err == nil {
				return uv
			}
		}
		return v
	}
	return ""
}

// Arm is one side of a weighted split.
type Arm struct {
	Version *Version
	Weight  float64
	upto    uint64 // cumulative threshold
}

// Split assigns requests to arms by bucket: sticky on a key when the key is
// present, per request otherwise.
type Split struct {
	Sticky StickyKey
	Arms   []Arm
	salt   uint64
}

// pick returns the arm for a bucket.
func (s *Split) pick(bucket uint64) *Version {
	for i := range s.Arms {
		if bucket < s.Arms[i].upto {
			return s.Arms[i].Version
		}
	}
	return s.Arms[len(s.Arms)-1].Version
}

// bucket computes the request's bucket: from the sticky key when present,
// from rnd otherwise.
func (s *Split) bucket(r *http.Request, rnd func() uint64) uint64 {
	if key := s.Sticky.Value(r); key != "" {
		return BucketOf(key, s.salt)
	}
	return rnd() % Buckets
}

func compileMirror(s *Service, mc *config.Mirror) *Mirror {
	return &Mirror{To: s.byName[mc.To], Percent: mc.Percent, Methods: slices.Clone(mc.Methods),
		upto: WeightThreshold(mc.Percent), salt: Salt("mirror", s.Name)}
}

// MirrorSalt is the salt of the bucket a sticky key falls in when Decide
// selects a request of service for its mirror: BucketOf(key,
// MirrorSalt(service)) below WeightThreshold(percent) is mirrored.
func MirrorSalt(service string) uint64 { return Salt("mirror", service) }

// mirrorOf selects r for its service's mirror (Decision.Mirror): when the
// service mirrors, the decided version is not the mirror's own, the method
// is listed and the request falls in the mirrored percent — by the
// rollout's sticky key when it carries one, so a user's session is
// mirrored whole or not at all, else by rnd. It never allocates.
func mirrorOf(s *Service, v *Version, r *http.Request, rnd func() uint64) *Version {
	m := s.Mirror
	if m == nil || m.To == nil || v == nil || v == m.To || !slices.Contains(m.Methods, r.Method) {
		return nil
	}
	if m.upto >= Buckets {
		return m.To
	}
	if m.upto == 0 {
		return nil
	}
	if ro := s.Rollout; ro != nil {
		if key := ro.Sticky.Value(r); key != "" {
			if BucketOf(key, m.salt) < m.upto {
				return m.To
			}
			return nil
		}
	}
	if rnd()%Buckets < m.upto {
		return m.To
	}
	return nil
}

package trust

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The signed-colour header is "t=<unix seconds>,h=<hex HMAC-SHA256>". The
// HMAC is keyed by the shared secret and computed over the canonical text:
//
//	t=<unix seconds>\n
//	header:<lower-case name>=<values joined by ",">\n   for each signed header present
//	cookie:<name>=<values joined by ",">\n               for each signed cookie present
//	query:<name>=<values joined by ",">\n                for each signed query parameter present
//
// in that order, names sorted within each kind (Policy.SignedKeys lists
// them), values as the request carries them (query values still encoded).
// The signed set is every colour the policy strips plus the pin header and
// query of services that refuse pins: a client cannot add or change any of
// them without breaking the signature.

// parseSig splits a signature header value; ok is false when it is
// malformed. It does not allocate.
func parseSig(v string) (t int64, mac string, ok bool) {
	var hasT, hasH bool
	for v != "" {
		var part string
		part, v, _ = strings.Cut(v, ",")
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || hasT {
				return 0, "", false
			}
			t, hasT = n, true
		case "h":
			if hasH || len(val) != 2*sha256.Size {
				return 0, "", false
			}
			mac, hasH = val, true
		default:
			return 0, "", false
		}
	}
	return t, mac, hasT && hasH
}

// verify reports whether the single signature value vs is valid for r now.
func (p *Policy) verify(vs []string, r *http.Request) bool {
	if len(vs) != 1 || len(p.key) == 0 {
		return false
	}
	t, macHex, ok := parseSig(vs[0])
	if !ok {
		return false
	}
	age := p.now().Sub(time.Unix(t, 0))
	if age > p.maxAge || age < -p.maxAge {
		return false
	}
	var got [sha256.Size]byte
	if _, err := hex.Decode(got[:], []byte(macHex)); err != nil {
		return false
	}
	return hmac.Equal(got[:], p.mac(t, r))
}

// mac computes the HMAC of r's signed colour at time t.
func (p *Policy) mac(t int64, r *http.Request) []byte {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(canonicalText(t, &p.signed, r)))
	return m.Sum(nil)
}

// Sign returns the signed-colour header value for r at now with key: what
// a trusted edge sets (and tests use). It does not modify r.
func (p *Policy) Sign(r *http.Request, key []byte, now time.Time) string {
	t := now.Unix()
	m := hmac.New(sha256.New, key)
	m.Write([]byte(canonicalText(t, &p.signed, r)))
	return "t=" + strconv.FormatInt(t, 10) + ",h=" + hex.EncodeToString(m.Sum(nil))
}

// SignatureHeader is the canonical name of the signed-colour header ("" when
// signed colour is off).
func (p *Policy) SignatureHeader() string { return p.sigHeader }

// SignedKeys returns what a signature covers, as KIND:NAME, in canonical
// order.
func (p *Policy) SignedKeys() []string {
	var out []string
	for _, h := range p.signed.headers {
		out = append(out, "header:"+strings.ToLower(h))
	}
	for _, c := range p.signed.cookies {
		out = append(out, "cookie:"+c)
	}
	for _, q := range p.signed.queries {
		out = append(out, "query:"+q)
	}
	return out
}

// canonicalText is the text a signature is computed over (see the format
// above) for the signed keys k (sorted) of r at time t.
func canonicalText(t int64, k *keys, r *http.Request) string {
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(strconv.FormatInt(t, 10))
	b.WriteByte('\n')
	for _, h := range k.headers {
		if vs, ok := r.Header[h]; ok {
			line(&b, "header:"+strings.ToLower(h), vs)
		}
	}
	for _, c := range k.cookies {
		var vs []string
		for _, l := range r.Header["Cookie"] {
			for l != "" {
				var part string
				part, l, _ = strings.Cut(l, ";")
				name, val, _ := strings.Cut(strings.TrimSpace(part), "=")
				if strings.TrimSpace(name) == c {
					vs = append(vs, val)
				}
			}
		}
		if vs != nil {
			line(&b, "cookie:"+c, vs)
		}
	}
	if r.URL != nil {
		for _, q := range k.queries {
			var vs []string
			for raw := r.URL.RawQuery; raw != ""; {
				var part string
				part, raw, _ = strings.Cut(raw, "&")
				if queryName(part) == q {
					_, val, _ := strings.Cut(part, "=")
					vs = append(vs, val)
				}
			}
			if vs != nil {
				line(&b, "query:"+q, vs)
			}
		}
	}
	return b.String()
}

func line(b *strings.Builder, name string, vs []string) {
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(strings.Join(vs, ","))
	b.WriteByte('\n')
}

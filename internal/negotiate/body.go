package negotiate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// DefaultMaxBody is how much of a request body the body source reads when
// Options.MaxBody is not set: 64 KiB.
const DefaultMaxBody = 64 << 10

// Pointer is a compiled JSON Pointer (RFC 6901): the reference tokens of
// "/api_version" or "/meta/version", unescaped. It is immutable.
type Pointer struct {
	text   string
	tokens []string
}

// ParsePointer compiles a JSON Pointer. The empty pointer (the whole
// document) is refused: a version is a member or an element, never the
// document itself. '~' must be followed by '0' ('~') or '1' ('/').
func ParsePointer(s string) (Pointer, error) {
	if s == "" {
		return Pointer{}, errors.New("an empty JSON Pointer names the whole body; name the member, e.g. /api_version")
	}
	if s[0] != '/' {
		return Pointer{}, fmt.Errorf("%q is not a JSON Pointer: it must start with /, e.g. /api_version", s)
	}
	p := Pointer{text: s}
	for _, tok := range strings.Split(s[1:], "/") {
		for i := 0; i < len(tok); i++ {
			if tok[i] == '~' && (i+1 == len(tok) || (tok[i+1] != '0' && tok[i+1] != '1')) {
				return Pointer{}, fmt.Errorf("%q is not a JSON Pointer: ~ must be followed by 0 (for ~) or 1 (for /)", s)
			}
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		p.tokens = append(p.tokens, tok)
	}
	return p, nil
}

// String returns the pointer as written.
func (p Pointer) String() string { return p.text }

// Find returns the version text at p in doc, a JSON document: a string
// (trimmed of spaces and tabs) or a number as written ("2", "2.1").
// found is false when doc is not valid JSON, when p names nothing in it,
// or when the value there is null or an empty string: the body carries no
// version. A value of another type (true, an object, an array) is
// ErrMalformed, unwrapped. Duplicate member names resolve as
// encoding/json does: the last one wins.
func (p Pointer) Find(doc []byte) (value string, found bool, err error) {
	raw := json.RawMessage(doc)
	for _, tok := range p.tokens {
		raw = bytes.TrimLeft(raw, " \t\r\n")
		if len(raw) == 0 {
			return "", false, nil
		}
		switch raw[0] {
		case '{':
			var m map[string]json.RawMessage
			if json.Unmarshal(raw, &m) != nil {
				return "", false, nil
			}
			var ok bool
			if raw, ok = m[tok]; !ok {
				return "", false, nil
			}
		case '[':
			var a []json.RawMessage
			if json.Unmarshal(raw, &a) != nil {
				return "", false, nil
			}
			i, ok := arrayIndex(tok)
			if !ok || i >= len(a) {
				return "", false, nil
			}
			raw = a[i]
		default:
			return "", false, nil // a scalar has no members
		}
	}
	raw = bytes.TrimSpace(raw)
	if len(p.tokens) == 0 || len(raw) == 0 {
		return "", false, nil
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false, nil
		}
		s = trimOWS(s)
		return s, s != "", nil
	case c == '-' || '0' <= c && c <= '9':
		return string(raw), true, nil
	case bytes.Equal(raw, []byte("null")):
		return "", false, nil
	}
	return "", false, ErrMalformed
}

// arrayIndex parses an RFC 6901 array index: "0" or digits without a
// leading zero. "-" (past the end) and anything else name no element.
func arrayIndex(tok string) (int, bool) {
	if tok == "" || len(tok) > 9 || (len(tok) > 1 && tok[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(tok)
	return i, err == nil
}

// JSONBody reports whether r carries a body the body source may read: a
// body (not known to be empty), a JSON media type (application/json or a
// +json type) and no content coding other than identity. Upgrades are not
// read.
func JSONBody(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return false
	}
	if v := r.Header["Upgrade"]; len(v) > 0 && v[0] != "" {
		return false
	}
	if ce := r.Header["Content-Encoding"]; len(ce) > 0 && !strings.EqualFold(trimOWS(ce[0]), "identity") {
		return false
	}
	ct := r.Header["Content-Type"]
	return len(ct) > 0 && isJSONType(ct[0])
}

// isJSONType reports whether a Content-Type value names JSON:
// application/json or application/anything+json, parameters aside.
func isJSONType(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = trimOWS(ct)
	typ, sub, ok := strings.Cut(ct, "/")
	if !ok || !strings.EqualFold(typ, "application") {
		return false
	}
	const suffix = "+json"
	return strings.EqualFold(sub, "json") ||
		len(sub) > len(suffix) && strings.EqualFold(sub[len(sub)-len(suffix):], suffix) && isToken(sub)
}

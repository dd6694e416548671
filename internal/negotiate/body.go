package negotiate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
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
//
// Find walks doc with a streaming tokenizer (jsontext), skipping the
// members it does not need without decoding them; FuzzPointerFind holds
// it to decoding the whole document with encoding/json, and
// BenchmarkRequestedBody shows what the walk saves.
func (p Pointer) Find(doc []byte) (value string, found bool, err error) {
	if len(p.tokens) == 0 {
		return "", false, nil
	}
	w := walkers.Get().(*walker)
	defer w.release()
	raw := doc
	for _, tok := range p.tokens {
		var ok bool
		if raw, ok = w.member(raw, tok); !ok {
			return "", false, nil
		}
	}
	return scalar(raw)
}

// scalar is the version text of a JSON value, as Find says.
func scalar(raw []byte) (string, bool, error) {
	if len(raw) == 0 {
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
	case c == 'n':
		return "", false, nil
	}
	return "", false, ErrMalformed
}

// walker is a reusable tokenizer over one JSON value. It is owned by one
// goroutine between walkers.Get and release.
type walker struct {
	rd  bytes.Reader
	dec *jsontext.Decoder
}

// decodeOptions match encoding/json's leniency: duplicate names (the last
// wins) and invalid UTF-8 are accepted.
var decodeOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

var walkers = sync.Pool{New: func() any {
	w := new(walker)
	w.dec = jsontext.NewDecoder(&w.rd, decodeOptions...)
	return w
}}

func (w *walker) release() {
	w.rd.Reset(nil)
	w.dec.Reset(&w.rd, decodeOptions...) // drops the document
	walkers.Put(w)
}

// member returns the raw value of member tok of doc (an object's last
// member of that name, or an array's element at index tok), without its
// surrounding whitespace. ok is false when doc is not exactly one valid
// JSON value or has no such member.
func (w *walker) member(doc []byte, tok string) (raw []byte, ok bool) {
	w.rd.Reset(doc)
	d := w.dec
	d.Reset(&w.rd, decodeOptions...)
	var start int64
	skip := func() bool {
		start = d.InputOffset()
		return d.SkipValue() == nil
	}
	switch d.PeekKind() {
	case '{':
		if _, err := d.ReadToken(); err != nil {
			return nil, false
		}
		for d.PeekKind() != '}' {
			name, err := d.ReadToken()
			if err != nil {
				return nil, false
			}
			match := name.String() == tok
			if !skip() {
				return nil, false
			}
			if match {
				raw, ok = doc[start:d.InputOffset()], true
			}
		}
	case '[':
		idx, isIdx := arrayIndex(tok)
		if _, err := d.ReadToken(); err != nil {
			return nil, false
		}
		for i := 0; d.PeekKind() != ']'; i++ {
			if !skip() {
				return nil, false
			}
			if isIdx && i == idx {
				raw, ok = doc[start:d.InputOffset()], true
			}
		}
	default:
		if !skip() {
			return nil, false
		}
	}
	if d.StackDepth() > 0 {
		if _, err := d.ReadToken(); err != nil { // the closing '}' or ']'
			return nil, false
		}
	}
	if _, err := d.ReadToken(); err != io.EOF { // one value and nothing after it
		return nil, false
	}
	return bytes.TrimLeft(raw, " \t\r\n:,"), ok
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

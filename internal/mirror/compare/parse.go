package compare

import (
	"math"
	"slices"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// A body is parsed into a doc: a compact tree made for comparing. It keeps
// each number's text (no precision is lost), keeps strings and keys as
// substrings of one copy of the body when they need no unescaping, and
// sorts each object's members by key once, so two objects compare by one
// merge of their sorted members and differences come out in key order.
//
// The parser accepts exactly RFC 8259 JSON, as encoding/json does (checked
// against json.Valid by FuzzCompare), and like encoding/json it turns
// invalid UTF-8 and lone surrogate escapes into U+FFFD and lets the last
// of duplicate keys win.

type kind uint8

const (
	kNull kind = iota
	kFalse
	kTrue
	kNum
	kStr
	kArr
	kObj
)

// node is one JSON value. Children of an array or object are
// doc.kids[first : first+n]; an object's are sorted by key.
type node struct {
	key   string // member name, for the members of an object
	text  string // a number's text or a string's value
	first int32
	n     int32
	kind  kind
}

type doc struct {
	kids  []node
	stack []node // the parser's scratch, kept to be reused
	root  node
}

// docs recycles the node arrays of parsed bodies: a doc lives only for one
// Compare or Learn call, which releases it.
var docs = sync.Pool{New: func() any { return new(doc) }}

// maxPooledNodes bounds the arrays kept in docs, so one huge body does not
// pin its memory.
const maxPooledNodes = 1 << 14

func (d *doc) release() {
	if d == nil || cap(d.kids) > maxPooledNodes || cap(d.stack) > maxPooledNodes {
		return
	}
	clear(d.kids)
	d.kids, d.stack, d.root = d.kids[:0], d.stack[:0], node{}
	docs.Put(d)
}

func (d *doc) children(n *node) []node { return d.kids[n.first : n.first+n.n] }

// maxDepth bounds nesting, as encoding/json does.
const maxDepth = 10000

type parser struct {
	s     string
	i     int
	kids  []node
	stack []node // members of the containers being parsed
	depth int
	bad   bool
}

// parse parses a whole body as one JSON value. The caller releases the doc.
func parse(b []byte) (*doc, bool) {
	if len(b) == 0 || len(b) > math.MaxInt32 {
		return nil, false
	}
	d := docs.Get().(*doc)
	p := parser{s: string(b), kids: d.kids, stack: d.stack}
	p.ws()
	root := p.value()
	p.ws()
	d.kids, d.stack, d.root = p.kids, p.stack, root
	if p.bad || p.i != len(p.s) {
		d.release()
		return nil, false
	}
	return d, true
}

func (p *parser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) fail() node {
	p.bad = true
	p.i = len(p.s)
	return node{}
}

func (p *parser) value() node {
	if p.i >= len(p.s) {
		return p.fail()
	}
	switch c := p.s[p.i]; {
	case c == '{' || c == '[':
		return p.container(c)
	case c == '"':
		return node{kind: kStr, text: p.str()}
	case c == 't':
		return p.literal("true", kTrue)
	case c == 'f':
		return p.literal("false", kFalse)
	case c == 'n':
		return p.literal("null", kNull)
	default:
		return p.number()
	}
}

func (p *parser) literal(word string, k kind) node {
	if !strings.HasPrefix(p.s[p.i:], word) {
		return p.fail()
	}
	p.i += len(word)
	return node{kind: k}
}

// container parses an object or an array: its members gather on p.stack
// (nested containers place theirs first) and move to p.kids when it closes.
func (p *parser) container(open byte) node {
	if p.depth++; p.depth > maxDepth {
		return p.fail()
	}
	closing, k := byte(']'), kArr
	if open == '{' {
		closing, k = '}', kObj
	}
	p.i++
	base := len(p.stack)
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == closing {
		p.i++
	} else {
		for !p.bad {
			var key string
			if k == kObj {
				if p.i >= len(p.s) || p.s[p.i] != '"' {
					return p.fail()
				}
				key = p.str()
				p.ws()
				if p.i >= len(p.s) || p.s[p.i] != ':' {
					return p.fail()
				}
				p.i++
				p.ws()
			}
			v := p.value()
			v.key = key
			p.stack = append(p.stack, v)
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				p.ws()
				continue
			}
			if p.i < len(p.s) && p.s[p.i] == closing {
				p.i++
				break
			}
			return p.fail()
		}
	}
	members := p.stack[base:]
	if k == kObj && len(members) > 1 {
		byKey := func(a, b node) int { return strings.Compare(a.key, b.key) }
		if !slices.IsSortedFunc(members, byKey) {
			slices.SortStableFunc(members, byKey)
		}
		members = lastOfEachKey(members)
	}
	first := len(p.kids)
	p.kids = append(p.kids, members...)
	p.stack = p.stack[:base]
	p.depth--
	return node{kind: k, first: int32(first), n: int32(len(members))}
}

// lastOfEachKey drops all but the last of members with the same key from
// members sorted stably by key.
func lastOfEachKey(m []node) []node {
	out := m[:0]
	for i := range m {
		if i+1 < len(m) && m[i+1].key == m[i].key {
			continue
		}
		out = append(out, m[i])
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number scans a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() node {
	s, start := p.s, p.i
	i := p.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && isDigit(s[i]):
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return p.fail()
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return p.fail()
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return p.fail()
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	p.i = i
	return node{kind: kNum, text: s[start:i]}
}

// str scans a string at p.i (on its opening quote) and returns its value:
// a substring of the body when it is plain ASCII or valid UTF-8 without
// escapes, else a decoded copy.
func (p *parser) str() string {
	s := p.s
	start := p.i + 1
	i := start
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.i = i + 1
			return s[start:i]
		case c < 0x20:
			p.fail()
			return ""
		case c == '\\' || c >= utf8.RuneSelf:
			return p.strSlow(start, i)
		}
		i++
	}
	p.fail()
	return ""
}

// strSlow decodes the rest of a string from i; s[start:i] is plain ASCII.
func (p *parser) strSlow(start, i int) string {
	s := p.s
	var b []byte
	changed := false
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.i = i + 1
			if !changed {
				return s[start:i]
			}
			return string(b)
		case c < 0x20:
			p.fail()
			return ""
		case c == '\\':
			if !changed {
				b, changed = append(make([]byte, 0, len(s[start:i])+16), s[start:i]...), true
			}
			var ok bool
			if b, i, ok = unescapeAt(b, s, i); !ok {
				p.fail()
				return ""
			}
		case c < utf8.RuneSelf:
			if changed {
				b = append(b, c)
			}
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 && !changed {
				b, changed = append(make([]byte, 0, len(s[start:i])+16), s[start:i]...), true
			}
			if changed {
				b = utf8.AppendRune(b, r)
			}
			i += size
		}
	}
	p.fail()
	return ""
}

// unescapeAt appends the escape at s[i] (a backslash) to b.
func unescapeAt(b []byte, s string, i int) ([]byte, int, bool) {
	if i+1 >= len(s) {
		return b, i, false
	}
	switch c := s[i+1]; c {
	case '"', '\\', '/':
		return append(b, c), i + 2, true
	case 'b':
		return append(b, '\b'), i + 2, true
	case 'f':
		return append(b, '\f'), i + 2, true
	case 'n':
		return append(b, '\n'), i + 2, true
	case 'r':
		return append(b, '\r'), i + 2, true
	case 't':
		return append(b, '\t'), i + 2, true
	case 'u':
		r, ok := hex4(s, i+2)
		if !ok {
			return b, i, false
		}
		i += 6
		if utf16.IsSurrogate(r) {
			if r2, ok := hex4(s, i+2); ok && i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					return utf8.AppendRune(b, d), i + 6, true
				}
			}
			r = utf8.RuneError
		}
		return utf8.AppendRune(b, r), i, true
	}
	return b, i, false
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

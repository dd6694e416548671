package config

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// fastParse parses the plain subset of YAML that configuration files are
// written in, into the tree fromYAML makes of what yaml.v3 builds (kinds,
// tags, values, styles, lines and columns; comments are not kept, the
// decoder does not read them), several times faster and with far fewer
// allocations. It
// returns ok false as soon as the text uses anything outside the subset or
// is not valid YAML; parseYAML then parses it with yaml.v3, which also
// words every syntax error. The subset is:
//
//   - block mappings and block sequences indented with spaces, including
//     "- key: value" items and sequences at their key's indentation;
//   - flow mappings and sequences ({a: 1, b: [x, y]}) that close on the line
//     they open;
//   - plain scalars on one line, and single- and double-quoted scalars on one
//     line (double-quoted without escapes);
//   - comments and blank lines.
//
// Anchors, aliases, tags, block scalars (| and >), complex keys, document
// markers and directives, tabs, carriage returns and multi-line scalars are
// not in it. Every node's value is a substring of one copy of the text.
//
// The parser gives up by panicking with fastBail, which fastParse recovers
// as ok false. Any other panic is a bug in the parser: it is not hidden by
// parsing the text again with yaml.v3 but returned as fault, which names the
// line and column the parser was at, and parseYAML reports it as the
// configuration's problem.
func fastParse(data []byte) (t *tree, ok bool, fault *Error) {
	p := &fastParser{src: string(data)}
	if !p.scanLines() || len(p.lines) == 0 {
		return nil, false, nil
	}
	// The root first, then the children of every collection side by side;
	// about one node per 6 bytes of a typical configuration.
	p.nodes = make([]node, 1, max(64, len(data)/6))
	return p.guard(p.document)
}

// guard runs parse, turning the bail-out into ok false and any other panic
// into a fault.
func (p *fastParser) guard(parse func() (*tree, bool)) (t *tree, ok bool, fault *Error) {
	defer func() {
		if r := recover(); r != nil {
			t, ok = nil, false
			if _, bailed := r.(fastBail); !bailed {
				fault = p.fault(r)
			}
		}
	}()
	t, ok = parse()
	return t, ok, nil
}

// document parses the whole text into a tree.
func (p *fastParser) document() (*tree, bool) {
	p.setLine(0)
	var top node
	switch {
	case p.isSeqEntry():
		top = p.sequence(p.ind)
	case p.looksLikeKey():
		top = p.mapping(p.ind)
	default:
		return nil, false
	}
	if p.li != len(p.lines) {
		return nil, false
	}
	p.kids = append(p.kids, top)
	first, n := p.collect(0)
	p.nodes[0] = node{kind: documentNode, line: top.line, col: top.col, first: first, n: n}
	text := p.src
	if p.extra.Len() > 0 {
		text += p.extra.String()
	}
	return &tree{text: text, nodes: p.nodes}, true
}

// fastBail is the panic value with which the parser gives up.
type fastBail struct{}

// fault is the problem reported for a panic r that is not a bail-out: a bug
// in the parser, placed where the parser was (the Pos names no file;
// parseYAML sets it).
func (p *fastParser) fault(r any) *Error {
	at := Pos{Line: 1, Col: 1}
	if p.li < len(p.lines) && p.pos >= p.lines[p.li].start && p.pos <= p.lines[p.li].end {
		at = Pos{Line: p.lines[p.li].num, Col: p.col(p.li, p.pos)}
	}
	return &Error{Pos: at, Msg: "invalid YAML: the configuration parser failed here (a bug in turnout, please report it): " +
		strings.Join(strings.Fields(fmt.Sprint(r)), " ")}
}

type fastParser struct {
	src   string
	lines []fastLine      // the lines that hold something other than a comment
	li    int             // current line (index into lines)
	start int             // offset of the current line in src
	end   int             // offset of the current line's end ('\n' or len(src))
	ind   int             // indentation of the current line
	pos   int             // cursor, within the current line
	nodes []node          // the tree's nodes
	kids  []node          // children of the collections being parsed
	extra strings.Builder // values that are not in src as written ('' in quotes), after it
}

type fastLine struct {
	num, start, end, indent int
	ascii                   bool // columns are byte offsets
}

// scanLines splits the text into lines, keeping those with content, and
// reports false for text outside the subset: control characters (tabs and
// carriage returns included), invalid UTF-8, characters yaml.v3 treats as
// line breaks or rejects, and document markers.
func (p *fastParser) scanLines() bool {
	src := p.src
	num := 0
	p.lines = make([]fastLine, 0, strings.Count(src, "\n")+1)
	for start := 0; start < len(src); {
		num++
		end := strings.IndexByte(src[start:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += start
		}
		line := src[start:end]
		ascii := true
		for i := 0; i < len(line); i++ {
			if c := line[i]; c < 0x20 || c == 0x7f {
				return false
			} else if c >= 0x80 {
				ascii = false
			}
		}
		if !ascii && !fastRunesOK(line) {
			return false
		}
		if strings.HasPrefix(line, "---") || strings.HasPrefix(line, "...") {
			return false
		}
		ind := 0
		for ind < len(line) && line[ind] == ' ' {
			ind++
		}
		if ind < len(line) && line[ind] != '#' {
			p.lines = append(p.lines, fastLine{num: num, start: start, end: end, indent: ind, ascii: ascii})
		}
		start = end + 1
	}
	return true
}

// fastRunesOK reports whether every character of s is one yaml.v3 reads as
// an ordinary printable character.
func fastRunesOK(s string) bool {
	for _, r := range s {
		if r < 0x80 {
			continue
		}
		if r == utf8.RuneError || r < 0xA0 || r == 0x2028 || r == 0x2029 || (r > 0xD7FF && r < 0xE000) || r == 0xFEFF || r > 0xFFFD {
			return false
		}
	}
	return true
}

func (p *fastParser) bail() { panic(fastBail{}) }

// setLine moves the cursor to the first content of line li.
func (p *fastParser) setLine(li int) {
	p.li = li
	if li < len(p.lines) {
		l := &p.lines[li]
		p.start, p.end, p.ind = l.start, l.end, l.indent
		p.pos = l.start + l.indent
	}
}

// col returns the 1-based column of offset off on line li.
func (p *fastParser) col(li, off int) int {
	l := &p.lines[li]
	if l.ascii {
		return off - l.start + 1
	}
	return utf8.RuneCountInString(p.src[l.start:off]) + 1
}

// newNode returns a node placed at offset off of the current line.
func (p *fastParser) newNode(kind nodeKind, tag nodeTag, off int) node {
	return p.newNodeAt(kind, tag, p.li, off)
}

// newNodeAt returns a node placed at offset off of line li.
func (p *fastParser) newNodeAt(kind nodeKind, tag nodeTag, li, off int) node {
	return node{kind: kind, tag: tag, line: int32(p.lines[li].num), col: int32(p.col(li, off))}
}

// collect moves the children pushed since base to the tree and returns
// where they are.
func (p *fastParser) collect(base int) (first, n int32) {
	first, n = int32(len(p.nodes)), int32(len(p.kids)-base)
	p.nodes = append(p.nodes, p.kids[base:]...)
	p.kids = p.kids[:base]
	return first, n
}

func (p *fastParser) skipSpaces() {
	for p.pos < p.end && p.src[p.pos] == ' ' {
		p.pos++
	}
}

// atLineEnd reports whether only a comment (or nothing) is left on the line.
func (p *fastParser) atLineEnd() bool {
	return p.pos == p.end || (p.src[p.pos] == '#' && p.src[p.pos-1] == ' ')
}

// endLine requires that nothing but a comment follows on the line and moves
// to the next line.
func (p *fastParser) endLine() {
	p.skipSpaces()
	if !p.atLineEnd() {
		p.bail()
	}
	p.setLine(p.li + 1)
}

func (p *fastParser) isSeqEntry() bool {
	return p.src[p.pos] == '-' && (p.pos+1 == p.end || p.src[p.pos+1] == ' ')
}

// looksLikeKey reports whether the cursor is at a scalar followed by ": "
// (or ":" at the end of the line).
func (p *fastParser) looksLikeKey() bool {
	save := p.pos
	defer func() { p.pos = save }()
	switch c := p.src[p.pos]; {
	case c == '\'' || c == '"':
		if !p.quotedEnd() {
			return false
		}
		p.skipSpaces()
	case !p.plainStart(false):
		return false
	default:
		p.plainEnd(false)
	}
	return p.pos < p.end && p.src[p.pos] == ':' && (p.pos+1 == p.end || p.src[p.pos+1] == ' ')
}

// mapping parses a block mapping whose keys are at column col (0-based);
// the cursor is at its first key.
func (p *fastParser) mapping(col int) node {
	n := p.newNode(mappingNode, tagMap, p.pos)
	base := len(p.kids)
	for {
		k := p.scalar(false)
		if k.kind != scalarNode || p.pos-(p.start+col) > 1024 {
			p.bail()
		}
		p.skipSpaces()
		if p.pos == p.end || p.src[p.pos] != ':' || (p.pos+1 < p.end && p.src[p.pos+1] != ' ') {
			p.bail()
		}
		p.pos++
		p.kids = append(p.kids, k)
		p.kids = append(p.kids, p.value(col))
		if p.li == len(p.lines) || p.ind < col {
			break
		}
		if p.ind > col || p.isSeqEntry() {
			p.bail()
		}
	}
	n.first, n.n = p.collect(base)
	return n
}

// value parses a mapping value; the cursor is just after the ':' of a key
// of the mapping at column col. It leaves the cursor at the start of the
// next line.
func (p *fastParser) value(col int) node {
	colon, line := p.pos-1, p.li
	p.skipSpaces()
	if !p.atLineEnd() {
		n := p.scalar(false)
		p.endLine()
		return n
	}
	p.setLine(p.li + 1)
	if p.li < len(p.lines) {
		if p.ind > col {
			return p.block()
		}
		if p.ind == col && p.isSeqEntry() {
			return p.sequence(col)
		}
	}
	return p.null(line, colon+1)
}

// block parses the node that starts at the beginning of the current line.
func (p *fastParser) block() node {
	switch {
	case p.isSeqEntry():
		return p.sequence(p.ind)
	case p.looksLikeKey():
		return p.mapping(p.ind)
	}
	n := p.scalar(false)
	p.endLine()
	return n
}

// sequence parses a block sequence whose "-" are at column col; the cursor
// is at the first "-".
func (p *fastParser) sequence(col int) node {
	n := p.newNode(sequenceNode, tagSeq, p.pos)
	base := len(p.kids)
	for {
		dash, line := p.pos, p.li
		p.pos++
		p.skipSpaces()
		switch {
		case p.atLineEnd():
			p.setLine(p.li + 1)
			if p.li < len(p.lines) && p.ind > col {
				p.kids = append(p.kids, p.block())
			} else {
				p.kids = append(p.kids, p.null(line, dash+1))
			}
		case p.isSeqEntry():
			p.bail()
		case p.looksLikeKey():
			p.kids = append(p.kids, p.mapping(p.pos-p.start))
		default:
			p.kids = append(p.kids, p.scalar(false))
			p.endLine()
		}
		if p.li == len(p.lines) || p.ind < col {
			break
		}
		if p.ind > col {
			p.bail()
		}
		if !p.isSeqEntry() {
			break // the next key of the mapping this sequence is the value of
		}
	}
	n.first, n.n = p.collect(base)
	return n
}

// null returns the empty value yaml.v3 places at offset off of line li.
func (p *fastParser) null(li, off int) node {
	return p.newNodeAt(scalarNode, tagNull, li, off)
}

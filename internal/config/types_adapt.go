package config

import (
	"strings"
	"unicode/utf8"
)

// Adapt is how a version served by another version's upstream (served_by)
// is adapted to it: a jq program rewrites each request on its way to the
// other version's upstream and another each answer on its way back. The
// programs are compiled by package route (internal/adapt) when the
// configuration is compiled; Validate checks only their shape.
type Adapt struct {
	Meta `yaml:"-"`
	// Request rewrites {method, path, query, headers, body} (may be empty:
	// the request passes as it is).
	Request Program `yaml:"request"`
	// Response rewrites {status, headers, body} (may be empty).
	Response Program `yaml:"response"`
	// MaxBody bounds the body read to be adapted, each way
	// (DefaultAdaptMaxBody).
	MaxBody Size `yaml:"max_body"`
	// OnUnadaptable says what happens to a body that cannot be adapted (not
	// JSON, a stream, an upgrade or gRPC call, larger than max_body): pass
	// it untouched or refuse it (AdaptRefuse, the default).
	OnUnadaptable string `yaml:"on_unadaptable"`
	// Operations are transforms for one operation (method and OpenAPI path
	// template), used instead of Request and Response for the requests
	// they match; the first match wins.
	Operations []*AdaptOperation `yaml:"operations"`
}

// AdaptOperation is the request and response transforms of one operation.
type AdaptOperation struct {
	Meta     `yaml:"-"`
	Method   string  `yaml:"method"`
	Path     string  `yaml:"path"` // an OpenAPI path template: /users/{id}
	Request  Program `yaml:"request"`
	Response Program `yaml:"response"`
}

// The on_unadaptable choices.
const (
	AdaptPass   = "pass"
	AdaptRefuse = "refuse"
)

// DefaultAdaptMaxBody is adapt.max_body when not set.
const DefaultAdaptMaxBody = 1 << 20

// Program is the source of a jq program as written in the file, with where
// it was written, so that an error at an offset into the program can be
// placed at its line and column in the file (PosAt).
type Program struct {
	Source string
	// at is the position of the value (of its quote or block indicator).
	at Pos
	// kind is how the value was written; indent is the indentation of a
	// block scalar's content.
	kind   programKind
	indent int
}

type programKind uint8

const (
	programPlain  programKind = iota
	programQuoted             // '...' or "..."
	programBlock              // | or >
)

// At returns the position of the program's value, zero when not from a
// file.
func (p Program) At() Pos { return p.at }

func (p *Program) parseScalar(s string) error {
	p.Source = s
	return nil
}

// place records where the program's value was written: at is the value's
// position and src the whole file, from which the way it was written (plain,
// quoted, block) is read.
func (p *Program) place(at Pos, src string) {
	p.at = at
	line := lineOf(src, at.Line)
	off := colOffset(line, at.Col)
	if off >= len(line) {
		return
	}
	switch line[off] {
	case '\'', '"':
		p.kind = programQuoted
	case '|', '>':
		p.kind = programBlock
		for l := at.Line + 1; ; l++ {
			text := lineOf(src, l)
			if text == "" && l > strings.Count(src, "\n")+1 {
				return
			}
			if strings.TrimSpace(text) != "" {
				p.indent = len(text) - len(strings.TrimLeft(text, " "))
				return
			}
		}
	}
}

// PosAt returns the position in the file of the program's byte offset: exact
// for a one-line plain or quoted value without escapes and for a literal
// block (|), the value's line otherwise.
func (p Program) PosAt(offset int) Pos {
	if p.at.Line == 0 {
		return p.at
	}
	offset = max(0, min(offset, len(p.Source)))
	before := p.Source[:offset]
	nl := strings.Count(before, "\n")
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
	switch p.kind {
	case programBlock:
		return Pos{File: p.at.File, Line: p.at.Line + 1 + nl, Col: p.indent + col + 1}
	case programQuoted:
		if nl == 0 {
			return Pos{File: p.at.File, Line: p.at.Line, Col: p.at.Col + 1 + col}
		}
	default:
		if nl == 0 {
			return Pos{File: p.at.File, Line: p.at.Line, Col: p.at.Col + col}
		}
	}
	return p.at
}

// lineOf returns line n (1-based) of src without its newline, "" past the end.
func lineOf(src string, n int) string {
	for i := 1; i < n; i++ {
		j := strings.IndexByte(src, '\n')
		if j < 0 {
			return ""
		}
		src = src[j+1:]
	}
	if j := strings.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	return strings.TrimSuffix(src, "\r")
}

// colOffset returns the byte offset of 1-based rune column col in line.
func colOffset(line string, col int) int {
	off := 0
	for i := 1; i < col && off < len(line); i++ {
		_, size := utf8.DecodeRuneInString(line[off:])
		off += size
	}
	return off
}

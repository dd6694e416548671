package adapt

import (
	"strings"
)

// Stage names the direction a program runs in.
type Stage string

// The stages.
const (
	StageRequest  Stage = "request"
	StageResponse Stage = "response"
)

// Pair is the request and response programs applied to one request; a nil
// program leaves its side as it is.
type Pair struct {
	Request, Response *Program
}

// Operation is a Pair for one method and OpenAPI path template.
type Operation struct {
	Method string
	Path   string
	Pair
	segs []segment
}

// segment is one segment of a path template: a literal, or a parameter
// ({id}) with the literal text around it.
type segment struct {
	lit            string
	param          bool
	prefix, suffix string
}

// Adapter is the compiled adapter of one version. It is immutable and safe
// for concurrent use.
type Adapter struct {
	// Version is the adapted version, ServedBy the version whose upstream
	// serves it.
	Version, ServedBy string
	// MaxBody bounds each body read to be adapted and each body a program
	// yields.
	MaxBody int64
	// Pass forwards what cannot be adapted (not JSON, a stream, a body over
	// MaxBody) untouched; otherwise it is refused.
	Pass bool
	// Default applies to requests no operation matches.
	Default    Pair
	Operations []*Operation
}

// NewOperation returns the operation for method and path template.
func NewOperation(method, path string, p Pair) *Operation {
	op := &Operation{Method: method, Path: path, Pair: p}
	rest := strings.TrimPrefix(path, "/")
	for {
		seg, more, found := strings.Cut(rest, "/")
		s := segment{lit: seg}
		if open, end := strings.IndexByte(seg, '{'), strings.LastIndexByte(seg, '}'); open >= 0 && end > open {
			s = segment{param: true, prefix: seg[:open], suffix: seg[end+1:]}
		}
		op.segs = append(op.segs, s)
		if !found {
			return op
		}
		rest = more
	}
}

// Matches reports whether a request of method to path is this operation's.
func (op *Operation) Matches(method, path string) bool {
	if method != op.Method || path == "" || path[0] != '/' {
		return false
	}
	rest := path[1:]
	for i := range op.segs {
		v, more, found := strings.Cut(rest, "/")
		s := &op.segs[i]
		if s.param {
			if len(v) <= len(s.prefix)+len(s.suffix) || !strings.HasPrefix(v, s.prefix) || !strings.HasSuffix(v, s.suffix) {
				return false
			}
		} else if v != s.lit {
			return false
		}
		if found != (i < len(op.segs)-1) {
			return false
		}
		rest = more
	}
	return true
}

// Select returns the programs for a request of method to path: the first
// operation that matches, else the default pair.
func (a *Adapter) Select(method, path string) *Pair {
	for _, op := range a.Operations {
		if op.Matches(method, path) {
			return &op.Pair
		}
	}
	return &a.Default
}

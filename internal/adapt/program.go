package adapt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/itchyny/gojq"
)

// Timeout bounds one run of a program.
const Timeout = 500 * time.Millisecond

// Program is one compiled jq program. It is immutable and safe for
// concurrent use.
type Program struct {
	src  string
	code *gojq.Code
}

// CompileError is a program that does not parse or compile. Offset is the
// byte offset into the source the problem is at, -1 when unknown.
type CompileError struct {
	Offset int
	Msg    string
	Err    error
}

func (e *CompileError) Error() string { return e.Msg }

func (e *CompileError) Unwrap() error { return e.Err }

// Compile parses and compiles src; "" (or only spaces) is the identity
// program. The environment is hidden from the program.
func Compile(src string) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		src = "."
	}
	q, err := gojq.Parse(src)
	if err != nil {
		ce := &CompileError{Offset: -1, Msg: "invalid jq program: " + err.Error(), Err: err}
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			ce.Offset = max(0, pe.Offset-len(pe.Token))
		}
		return nil, ce
	}
	code, err := gojq.Compile(q, gojq.WithEnvironLoader(func() []string { return nil }))
	if err != nil {
		return nil, &CompileError{Offset: nameOffset(src, err.Error()), Msg: "invalid jq program: " + err.Error(), Err: err}
	}
	return &Program{src: src, code: code}, nil
}

// nameOffset finds the function or variable a compile error names ("function
// not defined: f/1", "variable not defined: $x") in src, -1 when it cannot.
func nameOffset(src, msg string) int {
	_, name, ok := strings.Cut(msg, " not defined: ")
	if !ok {
		return -1
	}
	name, _, _ = strings.Cut(name, "/")
	if name == "" {
		return -1
	}
	return strings.Index(src, name)
}

// Source returns the program's text.
func (p *Program) Source() string { return p.src }

// errNoValue and errManyValues are the program's fault: it must yield one
// value.
var (
	errNoValue    = errors.New("the program yielded no value")
	errManyValues = errors.New("the program yielded more than one value")
)

// Run runs the program on in (a value of encoding/json's kinds, numbers as
// json.Number) within Timeout and returns its one value.
func (p *Program) Run(ctx context.Context, in any) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	iter := p.code.RunWithContext(ctx, in)
	v, ok := iter.Next()
	if !ok {
		return nil, errNoValue
	}
	if err, isErr := v.(error); isErr {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("the program ran longer than %v: %w", Timeout, err)
		}
		return nil, err
	}
	if _, more := iter.Next(); more {
		return nil, errManyValues
	}
	return v, nil
}

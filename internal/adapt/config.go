package adapt

import (
	"errors"
	"fmt"

	"github.com/turnout-gw/turnout/internal/config"
)

// FromConfig compiles the adapter of version, served by servedBy, from its
// adapt block (nil: programs that change nothing). A program that does not
// compile is a *config.Error at the line and column inside the program
// where gojq stopped, when it says.
func FromConfig(version, servedBy string, c *config.Adapt) (*Adapter, error) {
	a := &Adapter{Version: version, ServedBy: servedBy, MaxBody: config.DefaultAdaptMaxBody}
	if c == nil {
		return a, nil
	}
	if c.MaxBody > 0 {
		a.MaxBody = int64(c.MaxBody)
	}
	a.Pass = c.OnUnadaptable == config.AdaptPass
	var errs config.Errors
	compile := func(where, key string, p config.Program, meta *config.Meta) *Program {
		if p.Source == "" && !meta.Has(key) {
			return nil
		}
		prog, err := Compile(p.Source)
		if err != nil {
			errs = append(errs, programError(where+key, key, p, meta, err))
		}
		return prog
	}
	a.Default = Pair{Request: compile("", "request", c.Request, &c.Meta), Response: compile("", "response", c.Response, &c.Meta)}
	for i, oc := range c.Operations {
		if oc == nil {
			continue
		}
		where := fmt.Sprintf("operations[%d].", i)
		p := Pair{Request: compile(where, "request", oc.Request, &oc.Meta), Response: compile(where, "response", oc.Response, &oc.Meta)}
		a.Operations = append(a.Operations, NewOperation(oc.Method, oc.Path, p))
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	return a, nil
}

// programError places a compile error inside the program when its offset
// is known, else at the program's value.
func programError(label, key string, p config.Program, meta *config.Meta, err error) *config.Error {
	pos := p.At()
	if pos.Line == 0 {
		pos = meta.PosOf(key)
	}
	var ce *CompileError
	if errors.As(err, &ce) && ce.Offset >= 0 {
		pos = p.PosAt(ce.Offset)
	}
	return &config.Error{Pos: pos, Msg: "adapt." + label + ": " + err.Error()}
}

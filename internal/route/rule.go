package route

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/fault"
)

// Rule is a compiled traffic-colouring rule. It is immutable.
type Rule struct {
	Name string
	// Version is the rule's target, or nil when the rule runs an experiment.
	Version *Version
	// Experiment splits the rule's requests between arms, or is nil.
	Experiment *Split
	// spec is the rule as configured (its positions; see MatchPos).
	spec *config.Rule
	// Fault is injected into the requests the rule sends, instead of their
	// version's; nil when the rule has none.
	Fault *fault.Spec

	headers    []kv // canonical names
	cookies    []kv
	queries    []kv
	host       string
	methods    []string
	pathPrefix string
	program    *vm.Program
	clientCert *config.ClientCertMatch // nil: no condition on the client certificate
}

type kv struct{ k, v string }

// MatchPos returns the position in the configuration of the value of the
// rule's match key (for example "expr"), to anchor a message about it.
func (r *Rule) MatchPos(key string) config.Pos {
	if r.spec == nil {
		return config.Pos{}
	}
	return r.spec.Match.PosOf(key)
}

// FaultFor returns the fault injected into a request r sends to v: the
// rule's own when it has one (it replaces the version's), else v's. A nil
// r is no rule. The proxy, the middleware and the xDS export all inject
// what this returns.
func (r *Rule) FaultFor(v *Version) *fault.Spec {
	if r != nil && r.Fault != nil {
		return r.Fault
	}
	if v == nil {
		return nil
	}
	return v.Fault
}

// ExprEnv is what a rule's `expr` sees: the request's method, path (version
// segment set aside) and host as fields, and Header, Cookie and Query
// functions. Expressions are compiled once at load; evaluating one costs a
// little reflection, the other conditions none.
type ExprEnv struct {
	Method string
	Path   string
	Host   string
	req    *http.Request
}

// Header returns the request header's first value ("" when absent).
func (e ExprEnv) Header(name string) string {
	return headerValue(e.req.Header, textproto.CanonicalMIMEHeaderKey(name))
}

// Cookie returns the request cookie's value ("" when absent).
func (e ExprEnv) Cookie(name string) string { return cookieValue(e.req.Header, name) }

// Query returns the query parameter's value ("" when absent).
func (e ExprEnv) Query(name string) string { return queryValue(e.req.URL.RawQuery, name) }

// CompileExpr compiles a rule expression against ExprEnv; it must yield a bool.
func CompileExpr(src string) (*vm.Program, error) {
	return expr.Compile(src, expr.Env(ExprEnv{}), expr.AsBool())
}

func compileRule(sv *Service, rc *config.Rule) (*Rule, error) {
	r := &Rule{Name: rc.Name, spec: rc, Fault: fault.Compile(rc.Fault)}
	m := &rc.Match
	for _, k := range sortedKeys(m.Header) {
		r.headers = append(r.headers, kv{textproto.CanonicalMIMEHeaderKey(k), m.Header[k]})
	}
	for _, k := range sortedKeys(m.Cookie) {
		r.cookies = append(r.cookies, kv{k, m.Cookie[k]})
	}
	for _, k := range sortedKeys(m.Query) {
		r.queries = append(r.queries, kv{k, m.Query[k]})
	}
	r.host = strings.ToLower(m.Host)
	r.methods = m.Method
	r.pathPrefix = m.PathPrefix
	r.clientCert = m.ClientCert
	if m.Expr != "" {
		p, err := CompileExpr(m.Expr)
		if err != nil {
			return nil, m.Errorf("expr", "rule %q: invalid expression: %v", rc.Name, firstLine(err.Error()))
		}
		r.program = p
	}
	if rc.Version != "" {
		v := sv.byName[rc.Version]
		if v == nil {
			return nil, rc.Errorf("version", "rule %q: version %q is not declared", rc.Name, rc.Version)
		}
		r.Version = v
	}
	if e := rc.Experiment; e != nil {
		sp, err := compileSplit(sv, e.Arms, compileSticky(e.Sticky), Salt(sv.Name, "experiment", rc.Name))
		if err != nil {
			return nil, e.Errorf("arms", "rule %q: %v", rc.Name, err)
		}
		r.Experiment = sp
	}
	if r.Version == nil && r.Experiment == nil {
		return nil, rc.Errorf("version", "rule %q needs a version or an experiment", rc.Name)
	}
	return r, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// compileSplit builds a split over arms sorted by version name, so the
// assignment does not depend on map order.
func compileSplit(sv *Service, arms map[string]float64, sticky StickyKey, salt uint64) (*Split, error) {
	sp := &Split{Sticky: sticky, salt: salt}
	var sum float64
	for _, name := range sortedKeys(arms) {
		v := sv.byName[name]
		if v == nil {
			return nil, fmt.Errorf("arm %q is not a declared version", name)
		}
		sum += arms[name]
		sp.Arms = append(sp.Arms, Arm{Version: v, Weight: arms[name], upto: WeightThreshold(sum)})
	}
	if len(sp.Arms) == 0 {
		return nil, fmt.Errorf("an experiment needs arms")
	}
	sp.Arms[len(sp.Arms)-1].upto = Buckets
	return sp, nil
}

// match reports whether every condition of the rule holds. path is the
// request path with any version segment set aside.
func (r *Rule) match(req *http.Request, path, host string) bool {
	for _, c := range r.headers {
		if headerValue(req.Header, c.k) != c.v {
			return false
		}
	}
	for _, c := range r.cookies {
		if cookieValue(req.Header, c.k) != c.v {
			return false
		}
	}
	for _, c := range r.queries {
		if queryValue(req.URL.RawQuery, c.k) != c.v {
			return false
		}
	}
	if r.host != "" && r.host != host {
		return false
	}
	if len(r.methods) > 0 {
		ok := false
		for _, m := range r.methods {
			if m == req.Method {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if r.pathPrefix != "" && !strings.HasPrefix(path, r.pathPrefix) {
		return false
	}
	if r.clientCert != nil && !MatchClientCert(r.clientCert, VerifiedClientCert(req)) {
		return false
	}
	if r.program != nil {
		out, err := expr.Run(r.program, ExprEnv{Method: req.Method, Path: path, Host: host, req: req})
		if err != nil {
			return false
		}
		if b, _ := out.(bool); !b {
			return false
		}
	}
	return true
}

// HasExpr reports whether the rule has an expression or a client
// certificate condition (which Envoy cannot express).
func (r *Rule) HasExpr() bool { return r.program != nil || r.clientCert != nil }

// Conditions returns the rule's plain conditions for translators (xDS).
func (r *Rule) Conditions() (headers, cookies, queries [][2]string, host string, methods []string, pathPrefix string) {
	conv := func(in []kv) [][2]string {
		out := make([][2]string, len(in))
		for i, c := range in {
			out[i] = [2]string{c.k, c.v}
		}
		return out
	}
	return conv(r.headers), conv(r.cookies), conv(r.queries), r.host, r.methods, r.pathPrefix
}

package config

import (
	"fmt"
	"math"
	"strings"
)

// Validate checks a rule: a name, at least one match condition and exactly
// one of version or experiment. Whether the versions exist is checked by
// Service.Validate.
func (r *Rule) Validate() error {
	var col collector
	if r.Name == "" {
		col.add(r.missing("name", "required: a name for the rule, unique within the service"))
	}
	if r.Match.empty() {
		col.add(r.missing("match", "needs at least one condition: header, cookie, query, host, method, path_prefix, expr or client_cert"))
	}
	col.add(nest("match", r.Match.Validate()))
	switch {
	case r.Version == "" && r.Experiment == nil:
		col.add(r.missing("version", "a rule needs either version (send matching requests there) or experiment (split them)"))
	case r.Version != "" && r.Experiment != nil:
		col.add(r.keyProblem("experiment", "a rule takes either version or experiment, not both"))
	}
	if r.Experiment != nil {
		col.add(nest("experiment", r.Experiment.Validate()))
	}
	return col.err()
}

// empty reports whether the match has no condition at all.
func (m *RuleMatch) empty() bool {
	return len(m.Header) == 0 && len(m.Cookie) == 0 && len(m.Query) == 0 && m.Host == "" &&
		len(m.Method) == 0 && m.PathPrefix == "" && m.Expr == "" && !m.Has("expr") && m.ClientCert == nil
}

// Validate checks a rule's conditions: header, cookie and query names are
// HTTP tokens, methods are upper-case tokens, path_prefix starts with "/",
// host is a bare host and expr, when given, is not empty. The expression
// itself is compiled by package route.
func (m *RuleMatch) Validate() error {
	var col collector
	for _, kind := range []struct {
		key    string
		values map[string]string
		what   string
	}{{"header", m.Header, "header"}, {"cookie", m.Cookie, "cookie"}, {"query", m.Query, "query parameter"}} {
		bad := false
		for name := range kind.values {
			bad = bad || !isToken(name)
		}
		if !bad {
			continue
		}
		for _, name := range sortedKeys(kind.values) {
			if !isToken(name) {
				col.add(m.entryProblem(kind.key, name, true, "%q is not a valid %s name", name, kind.what))
			}
		}
	}
	if m.Host != "" {
		if msg := checkHost(m.Host); msg != "" {
			col.add(m.problem("host", "%s", msg))
		}
	}
	for i, meth := range m.Method {
		if msg := checkMethod(meth); msg != "" {
			col.add(m.problem(fmt.Sprintf("method[%d]", i), "%s", msg))
		}
	}
	if m.PathPrefix != "" {
		if msg := checkPathPrefix(m.PathPrefix); msg != "" {
			col.add(m.problem("path_prefix", "%s", msg))
		}
	}
	if m.Has("expr") && strings.TrimSpace(m.Expr) == "" {
		col.add(m.problem("expr", "must not be empty; write a boolean expression or leave expr out"))
	}
	if c := m.ClientCert; c != nil && c.Subject == "" && c.SAN == "" {
		col.add(m.problem("client_cert", "needs subject (the common name or whole subject) or san (a DNS name, URI or e-mail address)"))
	}
	return col.err()
}

// weightTolerance is how far the weights of an experiment may sum from 100.
const weightTolerance = 1e-9

// Validate checks an experiment: at least two arms whose weights are
// percentages summing to 100. Whether the arms are declared versions is
// checked by Service.Validate.
func (e *Experiment) Validate() error {
	var col collector
	col.add(checkSticky(&e.Meta, "sticky", e.Sticky))
	if len(e.Arms) < 2 {
		col.add(e.missing("arms", "an experiment needs at least 2 arms (version: weight), got %d", len(e.Arms)))
	}
	sum, ok := 0.0, true
	for _, arm := range sortedKeys(e.Arms) {
		w := e.Arms[arm]
		if !inRange(w, 0, 100) {
			col.add(e.entryProblem("arms", arm, false, "%s is out of range; use a percentage from 0 to 100", fmtNum(w)))
			ok = false
		}
		sum += w
	}
	if ok && len(e.Arms) >= 2 && !(math.Abs(sum-100) <= weightTolerance) {
		col.add(e.problem("arms", "weights sum to %s; they must sum to 100", fmtNum(sum)))
	}
	return col.err()
}

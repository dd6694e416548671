package config

import (
	"fmt"
	"strings"
)

// Validate checks an adapt block's shape: on_unadaptable is pass or
// refuse, and each operation names an upper-case method and a path
// template starting with "/" and gives at least one program. The programs
// are compiled by package route.
func (a *Adapt) Validate() error {
	var col collector
	switch a.OnUnadaptable {
	case "", AdaptPass, AdaptRefuse:
	default:
		col.add(a.problem("on_unadaptable", "%q is not a choice; use pass (forward the body untouched) or refuse", a.OnUnadaptable))
	}
	if a.Has("max_body") && a.MaxBody == 0 {
		col.add(a.problem("max_body", "must be above 0 (default %d bytes)", DefaultAdaptMaxBody))
	}
	for i, op := range a.Operations {
		where := fmt.Sprintf("operations[%d]", i)
		if op == nil {
			col.add(a.problem(where, "empty; give method, path and a request or response program"))
			continue
		}
		col.add(nest(where, op.Validate()))
	}
	return col.err()
}

// Validate checks one per-operation transform.
func (o *AdaptOperation) Validate() error {
	var col collector
	if o.Method == "" {
		col.add(o.missing("method", "required: the operation's HTTP method, e.g. GET"))
	} else if msg := checkMethod(o.Method); msg != "" {
		col.add(o.problem("method", "%s", msg))
	}
	switch {
	case o.Path == "":
		col.add(o.missing("path", "required: the operation's path template, e.g. /users/{id}"))
	case !strings.HasPrefix(o.Path, "/"):
		col.add(o.problem("path", "%q must start with /", o.Path))
	case strings.Count(o.Path, "{") != strings.Count(o.Path, "}"):
		col.add(o.problem("path", "%q has unbalanced braces", o.Path))
	}
	if strings.TrimSpace(o.Request.Source) == "" && strings.TrimSpace(o.Response.Source) == "" {
		col.add(o.missing("request", "an operation needs a request or a response program"))
	}
	return col.err()
}

// validateServedBy checks version name's served_by and adapt: served_by
// names another declared version of the service that is itself served by
// its own upstream (no chains), and adapt comes with served_by.
func (s *Service) validateServedBy(name string, v *Version) error {
	var col collector
	if v.Adapt != nil {
		if v.ServedBy == "" {
			col.add(v.keyProblem("adapt", "needs served_by: adapt rewrites the requests sent to another version's upstream"))
		}
		col.add(nest("adapt", v.Adapt.Validate()))
	}
	if v.ServedBy == "" {
		return col.err()
	}
	if v.Upstream != "" {
		col.add(v.keyProblem("upstream", "a version served_by %s uses that version's upstream; remove upstream or served_by", label(v.ServedBy)))
	}
	by, ok := s.Versions[v.ServedBy]
	switch {
	case v.ServedBy == name:
		col.add(v.problem("served_by", "a version cannot be served by itself"))
	case !ok || by == nil:
		col.add(v.problem("served_by", "version %q is not declared in %s (declared: %s)", v.ServedBy, s.path("versions"), nameList(s.VersionNames())))
	case by.ServedBy != "":
		col.add(v.problem("served_by", "version %q is itself served_by %s; name the version that has the upstream (%s)",
			v.ServedBy, label(by.ServedBy), label(by.ServedBy)))
	case by.Lifecycle == LifecycleGone:
		col.add(v.problem("served_by", "version %q is gone; its upstream serves nothing", v.ServedBy))
	}
	return col.err()
}

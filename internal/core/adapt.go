package core

import (
	"fmt"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/contract"
)

// adaptOperationProblems checks the per-operation transforms of version
// vname (adapt.operations) against its OpenAPI document d: each method and
// path template must be one of the document's operations, or the
// transform would never apply.
func adaptOperationProblems(service, vname string, v *config.Version, d *contract.Document) config.Errors {
	if v.Adapt == nil || d == nil || d.Spec == nil || d.Spec.Paths == nil {
		return nil
	}
	var errs config.Errors
	for i, op := range v.Adapt.Operations {
		if op == nil {
			continue
		}
		where := fmt.Sprintf("services.%s.versions.%s.adapt.operations[%d]", service, vname, i)
		pi := d.Spec.Paths.Value(op.Path)
		switch {
		case pi == nil:
			errs = append(errs, op.Errorf("path", "%s.path: %q is not a path of %s's OpenAPI document %s", where, op.Path, vname, v.OpenAPI))
		case pi.GetOperation(op.Method) == nil:
			errs = append(errs, op.Errorf("method", "%s.method: %s %s is not an operation of %s's OpenAPI document %s", where, op.Method, op.Path, vname, v.OpenAPI))
		}
	}
	return errs
}

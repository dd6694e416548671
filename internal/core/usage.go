package core

import (
	"net/http"

	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/usage"
)

// usageObserver counts every finished request in the usage tracker under
// the version that served it: the version the client got (for a version
// served by another through an adapter, its own name), or, for Turnout's
// 308 and 410 answers, the redirected or gone version the client still
// calls. Requests no version served (400, 404, 406, a full service) are
// not counted. Both appliers report here: the proxy and the in-process
// middleware.
func usageObserver(t *usage.Tracker) observe.Observer {
	return observe.Funcs{FinishedFunc: func(r *observe.Result) {
		d := r.Decision
		if d == nil || d.Service == nil {
			return
		}
		v := r.Served
		if v == nil && (d.Status == http.StatusPermanentRedirect || d.Status == http.StatusGone) {
			v = d.Version
		}
		if v == nil {
			return
		}
		t.Record(d.Service.Name, v.Name, r.Request, d.Path)
	}}
}

// usageOperation names a request's operation from its version's OpenAPI
// document when the live contracts know it.
func (c *Core) usageOperation(service, version, method, path string) string {
	if c.Live == nil {
		return ""
	}
	return c.Live.Operation(service, version, method, path)
}

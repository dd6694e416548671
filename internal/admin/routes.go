package admin

import (
	"errors"
	"net/http"
)

// routes registers every endpoint of the admin port, here and nowhere
// else (handle, mutation and internal are unexported): the probes, the reload, the
// views of the live snapshot, the rollouts and their actions, the events,
// the series, the metrics, the contracts, the mirror's diffs and the
// dashboard. An endpoint whose source o leaves nil is not registered, so
// it answers 404. Reads need a viewer or operator token when a tokens file
// is configured, mutations an operator token when any token is; the
// internal endpoints (a fleet's stats pulls) always need a token; the
// probes are open under any host name, the dashboard's files to everyone
// who names the port by an allowed host.
func (a *API) routes(o Options) {
	a.handleProbe("GET /healthz", a.handleHealthz)
	a.handleProbe("GET /readyz", a.handleReadyz)
	a.mutation("POST /api/v1/reload", a.handleReload)
	if a.snapshot != nil {
		a.handle("GET /api/v1/services", a.handleServices)
	}
	if a.engine != nil {
		a.handle("GET /api/v1/rollouts", a.handleRollouts)
		a.handle("GET /api/v1/rollouts/{service}", a.handleRollout)
		a.handle("GET /api/v1/rollouts/{service}/analysis", a.handleAnalysis)
		for _, name := range rolloutActions {
			a.mutation("POST /api/v1/rollouts/{service}/"+name, a.handleAction(name))
		}
		a.mutation("PUT /api/v1/rollouts/{service}/weight", a.handleWeight)
	}
	if a.lifecycle != nil {
		a.handle("GET /api/v1/lifecycle/{service}", a.handleLifecycle)
		a.mutation("POST /api/v1/lifecycle/{service}/{version}/force", a.handleForce)
	}
	if a.events != nil {
		a.handle("GET /api/v1/events", a.handleEvents)
	}
	if a.stats != nil {
		a.handle("GET /api/v1/series/{service}", a.handleSeries)
		a.internal("GET /api/v1/internal/stats", a.handleInternalStats)
	}
	if a.recent != nil {
		a.internal("GET /api/v1/internal/usage", a.handleInternalUsage)
	}
	if o.Metrics != nil {
		a.handle("GET /metrics", o.Metrics.ServeHTTP)
	}
	if c := o.Contracts; c != nil {
		a.handle("GET /api/v1/contracts", c.ServeList)
		a.handle("GET /api/v1/contracts/{service}", c.ServeService)
		a.handle("GET /api/v1/deprecations/{service}", c.ServeDeprecations)
	}
	if o.Usage != nil {
		a.handle("GET /api/v1/usage/{service}", o.Usage)
	}
	if o.Diffs != nil {
		a.handle("GET /api/v1/diffs/{service}", o.Diffs)
	}
	a.handle("GET /api/v1/cluster", func(w http.ResponseWriter, r *http.Request) {
		if o.Cluster == nil {
			WriteError(w, http.StatusNotFound, errors.New("this Turnout is not in a fleet: its configuration has no cluster: block"))
			return
		}
		v, err := o.Cluster(r.Context())
		if err != nil {
			WriteError(w, http.StatusServiceUnavailable, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
	assets := dashboard()
	a.handlePublic("GET /{$}", handleIndex(assets))
	a.handlePublic("GET /ui/", handleAsset(assets))
}

// handleHealthz answers the liveness probe.
func (a *API) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers the readiness probe: 503 until Options.Ready says
// ready. A fleet member says whether it is in sync with the fleet, and
// why not (it stays ready, serving the last state it saw).
func (a *API) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if a.ready != nil && !a.ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
		return
	}
	answer := map[string]string{"status": "ready"}
	if a.inSync != nil {
		answer["cluster"] = "in sync"
		if err := a.inSync(); err != nil {
			answer["cluster"] = "out of sync, serving the last state seen: " + err.Error()
		}
	}
	writeJSON(w, http.StatusOK, answer)
}

package gateway

import (
	"fmt"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/telemetry"
	"github.com/turnout-gw/turnout/internal/trust"
	"github.com/turnout-gw/turnout/internal/xds"
)

// newXDS prepares the xDS server when cfg sets xds.listen (nil
// otherwise). It is not listening yet; the gateway's tables reach it
// through publishXDS from the first compile on. Every NACK is counted
// (turnout_xds_nacks_total) and recorded as an xds_nack event; the colour
// its ext_authz service removes from Envoy's untrusted requests is told to
// untrusted, as the gateway's own.
func (a *App) newXDS(cfg *config.Config, now func() time.Time, untrusted func(service, source string)) error {
	if cfg.XDS == nil || cfg.XDS.Listen == "" {
		return nil
	}
	m := telemetry.NewXDSMetrics(a.Metrics.Registry())
	s, err := xds.New(xds.WithLogger(a.Log), xds.WithClock(now), xds.WithEnvoyListen(cfg.XDS.EnvoyListen),
		xds.WithListen(a.takeover.listen),
		xds.WithTrustOptions(trust.WithReport(untrusted), trust.WithLogger(a.Log), trust.WithClock(now)),
		xds.WithNackObserver(func(n xds.Nack) {
			typ := xds.ShortType(n.TypeURL)
			m.Rejected(n.Kind.String(), typ)
			_, _ = a.Store.Append(store.Event{Type: "xds_nack", Actor: "xds",
				Message: fmt.Sprintf("%s node %s rejected %s version %s: %s", n.Kind, n.Node, typ, n.Version, n.Message),
				Fields:  map[string]any{"node": n.Node, "kind": n.Kind.String(), "type": typ, "version": n.Version, "error": n.Message}})
		}))
	if err != nil {
		return err
	}
	a.XDS = s
	return nil
}

// publishXDS hands every table the gateway publishes to the xDS server.
func (a *App) publishXDS(t *route.Table) {
	if a.XDS != nil {
		a.XDS.Publish(t)
	}
}

// startXDS binds xds.listen. A changed xds block takes effect at the next
// start.
func (a *App) startXDS(cfg *config.Config) error {
	if a.XDS == nil {
		return nil
	}
	return a.XDS.Start(cfg.XDS.Listen)
}

func (a *App) stopXDS() {
	if a.XDS != nil {
		a.XDS.Stop()
	}
}

package config

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestSpecExample checks that the example of SPEC.md (copied verbatim to
// testdata/valid/spec.yaml) decodes to the values it spells out, with the
// documented defaults filled in.
func TestSpecExample(t *testing.T) {
	c, err := Load("testdata/valid/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	users := c.Services["users"]
	if users == nil {
		t.Fatal("service users missing")
	}
	r := users.Rollout
	if r == nil || users.Mirror == nil || users.Mirror.Compare == nil || len(users.Rules) != 2 || users.Rules[1].Experiment == nil {
		t.Fatalf("service users is incomplete: %+v", users)
	}
	v1, v2 := users.Versions["v1"], users.Versions["v2"]
	sunset := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	for _, check := range []struct {
		name      string
		got, want any
	}{
		{"listen", c.Listen, "127.0.0.1:8080"},
		{"admin.listen", c.Admin.Listen, "127.0.0.1:9901"},
		{"admin.token_env", c.Admin.TokenEnv, "TURNOUT_ADMIN_TOKEN"},
		{"state", c.State, "./turnout.db"},
		{"xds.listen", c.XDS.Listen, "127.0.0.1:18000"},
		{"log.level (default)", c.Log.Level, "info"},
		{"limits.shutdown_grace (default)", c.Limits.ShutdownGrace.D(), DefaultShutdownGrace},
		{"upstreams.users-v1.targets", c.Upstreams["users-v1"].Targets, []string{"http://127.0.0.1:9001"}},
		{"upstreams.users-v1.protocol (default)", c.Upstreams["users-v1"].Protocol, ProtocolHTTP1},
		{"upstreams.users-v1.timeout (default)", c.Upstreams["users-v1"].Timeout.D(), DefaultUpstreamTO},
		{"upstreams.users-v2.targets", c.Upstreams["users-v2"].Targets, []string{"http://127.0.0.1:9002", "http://127.0.0.1:9003"}},
		{"upstreams.users-v2.timeout", c.Upstreams["users-v2"].Timeout.D(), 10 * time.Second},
		{"upstreams.users-v2.health.path", c.Upstreams["users-v2"].Health.Path, "/healthz"},
		{"upstreams.users-v2.health.interval", c.Upstreams["users-v2"].Health.Interval.D(), 2 * time.Second},
		{"match.hosts", users.Match.Hosts, []string{"api.example.com"}},
		{"match.path_prefix", users.Match.PathPrefix, "/users"},
		{"negotiate.sources", users.Negotiate.Sources, []string{"header", "accept", "path", "query"}},
		{"negotiate.header", users.Negotiate.Header, "X-API-Version"},
		{"negotiate.accept_vendor", users.Negotiate.AcceptVendor, "application/vnd.example"},
		{"negotiate.strip_path_version", *users.Negotiate.StripPathVersion, true},
		{"default", users.Default, "v1"},
		{"versions", users.VersionNames(), []string{"v1", "v2"}},
		{"versions.v1.lifecycle", v1.Lifecycle, LifecycleDeprecated},
		{"versions.v1.sunset", v1.Sunset.Time.Equal(sunset), true},
		{"versions.v1.successor", v1.Successor, "v2"},
		{"versions.v2.lifecycle (default)", v2.Lifecycle, LifecycleActive},
		{"rules[0].name", users.Rules[0].Name, "testers"},
		{"rules[0].match.header", users.Rules[0].Match.Header["X-Env"], "canary"},
		{"rules[0].version", users.Rules[0].Version, "v2"},
		{"rules[1].match.path_prefix", users.Rules[1].Match.PathPrefix, "/users/checkout"},
		{"rules[1].experiment.sticky", users.Rules[1].Experiment.Sticky, StickyKey{Kind: "header", Name: "X-User-ID"}},
		{"rules[1].experiment.arms", users.Rules[1].Experiment.Arms, map[string]float64{"v1": 50, "v2": 50}},
		{"rollout.from/to", r.From + "->" + r.To, "v1->v2"},
		{"rollout.weight", r.Weight, 10.0},
		{"rollout.sticky", r.Sticky.String(), "header:X-User-ID"},
		{"rollout.steps", r.Steps, []float64{10, 25, 50, 100}},
		{"rollout.step_interval", r.StepInterval.D(), 30 * time.Second},
		{"rollout.analysis.window", r.Analysis.Window.D(), 10 * time.Second},
		{"rollout.analysis.min_requests", r.Analysis.MinRequests, 20},
		{"rollout.analysis.max_error_rate", *r.Analysis.MaxErrorRate, 0.05},
		{"rollout.analysis.max_latency_p95", r.Analysis.MaxLatencyP95.D(), 500 * time.Millisecond},
		{"rollout.analysis.max_diff_rate", *r.Analysis.MaxDiffRate, 0.02},
		{"rollout.on_failure", r.OnFailure, "rollback"},
		{"fallback", users.Fallback, true},
		{"mirror.to", users.Mirror.To, "v2"},
		{"mirror.percent", users.Mirror.Percent, 100.0},
		{"mirror.methods (default)", users.Mirror.Methods, []string{"GET", "HEAD", "OPTIONS"}},
		{"mirror.compare.ignore", users.Mirror.Compare.Ignore, []string{"/meta/request_id"}},
		{"mirror.compare.tolerance", users.Mirror.Compare.Tolerance, map[string]float64{"/total": 0.01}},
	} {
		if !equal(check.got, check.want) {
			t.Errorf("%s = %#v, want %#v", check.name, check.got, check.want)
		}
	}
	// Positions: the rollout weight is on line 41 of the example.
	if p := r.PosOf("weight"); p.Line != 41 || p.Col != 15 || p.File != "testdata/valid/spec.yaml" {
		t.Errorf("rollout.weight position = %v, want testdata/valid/spec.yaml:41:15", p)
	}
}

func equal(a, b any) bool {
	switch a := a.(type) {
	case []string:
		return slices.Equal(a, b.([]string))
	case []float64:
		return slices.Equal(a, b.([]float64))
	case map[string]float64:
		bm := b.(map[string]float64)
		if len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			if w, ok := bm[k]; !ok || w != v {
				return false
			}
		}
		return true
	}
	return a == b
}

// TestManyProblems checks that one run reports every problem of a file, not
// just the first, and that Validate alone finds the same ones.
func TestManyProblems(t *testing.T) {
	const file = "testdata/invalid/many_problems.yaml"
	_, err := Load(file)
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("Load(%s) = %v, want Errors", file, err)
	}
	if len(es) < 5 {
		t.Fatalf("Load(%s) reported %d problems, want at least 5:\n%v", file, len(es), err)
	}
	lines := map[int]bool{}
	for _, e := range es {
		lines[e.Pos.Line] = true
	}
	if len(lines) < 5 {
		t.Errorf("problems are on %d distinct lines, want at least 5", len(lines))
	}
	data := readFile(t, file)
	c, err := Decode(file, data)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	c.ApplyDefaults()
	if got := Flatten(c.Validate()); got.Error() != es.Error() {
		t.Errorf("Validate reports\n%v\nLoad reports\n%v", got, es)
	}
}

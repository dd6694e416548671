package admin_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/stats"
)

func TestServices(t *testing.T) {
	f := newFixture(t, "")
	code, body := do(f, t, "GET", "/api/v1/services", "", "")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var got admin.ServiceList
	decode(t, body, &got)
	if len(got.Services) != 2 || got.Services[0].Name != "orders" || got.Services[1].Name != "users" {
		t.Fatalf("services not [orders users]: %s", body)
	}
	orders, users := got.Services[0], got.Services[1]
	if orders.Rollout != nil || orders.Default != "v1" || orders.PathPrefix != "/orders" || len(orders.Hosts) != 0 {
		t.Errorf("orders = %+v", orders)
	}
	if !strings.Contains(string(body), `"rollout": null`) {
		t.Errorf("a service without rollout should say rollout null:\n%s", body)
	}
	want := admin.RolloutSketch{From: "v1", To: "v2", State: rollout.Progressing, Weight: 10}
	if users.Rollout == nil || *users.Rollout != want {
		t.Errorf("users rollout = %+v, want %+v", users.Rollout, want)
	}
	if users.Default != "v1" || users.PathPrefix != "/users" || len(users.Hosts) != 1 || users.Hosts[0] != "api.example.com" {
		t.Errorf("users = %+v", users)
	}
	if len(users.Versions) != 2 {
		t.Fatalf("users versions = %+v", users.Versions)
	}
	v1, v2 := users.Versions[0], users.Versions[1]
	sunset := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	if v1.Name != "v1" || v1.Upstream != "users-v1" || v1.Lifecycle != "deprecated" || v1.Successor != "v2" ||
		v1.Sunset == nil || !v1.Sunset.Equal(sunset) {
		t.Errorf("v1 = %+v", v1)
	}
	if v2.Lifecycle != "active" || v2.Sunset != nil || v2.Successor != "" {
		t.Errorf("v2 = %+v", v2)
	}
	if len(v2.Targets) != 2 || v2.Targets[0].URL != "http://127.0.0.1:9002" || !v2.Targets[0].Healthy || v2.Targets[0].Ejected {
		t.Errorf("v2 targets = %+v", v2.Targets)
	}

	// The summary follows the engine, not the compiled table.
	if _, err := f.Engine.Pause("users", "test"); err != nil {
		t.Fatal(err)
	}
	_, body = do(f, t, "GET", "/api/v1/services", "", "")
	decode(t, body, &got)
	if r := got.Services[1].Rollout; r == nil || r.State != rollout.Paused {
		t.Errorf("after pause, users rollout = %+v", r)
	}
}

func TestRolloutReads(t *testing.T) {
	f := newFixture(t, "s3cret")
	tests := []struct {
		path string
		code int
		want string // substring of the body
	}{
		{"/api/v1/rollouts/users", 200, `"state": "progressing"`},
		{"/api/v1/rollouts/users", 200, `"last_analysis": null`},
		{"/api/v1/rollouts", 200, `"service": "users"`},
		{"/api/v1/rollouts/orders", 404, `service \"orders\" has no rollout`},
		{"/api/v1/rollouts/nope", 404, `unknown service \"nope\"`},
		{"/api/v1/events?service=users", 200, `"type": "rollout_started"`},
		{"/api/v1/events?limit=0", 400, "limit"},
		{"/api/v1/events?limit=x", 400, "limit"},
		{"/api/v1/events?after=-1", 400, "after"},
		{"/api/v1/nothing", 404, "not found"},
		{"/healthz", 200, "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			code, body := do(f, t, "GET", tc.path, "", "")
			if code != tc.code || !strings.Contains(string(body), tc.want) {
				t.Fatalf("GET %s = %d %s; want %d containing %s", tc.path, code, body, tc.code, tc.want)
			}
			if code >= 400 {
				var e errorBody
				decode(t, body, &e)
				if e.Status != code || e.Error == "" {
					t.Fatalf("error body %s", body)
				}
			}
		})
	}
	var st rollout.Status
	_, body := do(f, t, "GET", "/api/v1/rollouts/users", "", "")
	decode(t, body, &st)
	if st.Service != "users" || st.From != "v1" || st.To != "v2" || st.Weight != 10 || st.Step != 0 ||
		len(st.Steps) != 4 || st.UpdatedAt.IsZero() || st.Reason == "" {
		t.Errorf("status = %+v", st)
	}
}

// TestRolloutActions walks one rollout through every action in order; each
// step depends on the state the previous one left.
func TestRolloutActions(t *testing.T) {
	f := newFixture(t, "s3cret")
	steps := []struct {
		method, path, body string
		code               int
		state              string
		weight             float64
		msg                string // substring of the error
	}{
		{"POST", "/api/v1/rollouts/users/pause", "", 200, rollout.Paused, 10, ""},
		{"POST", "/api/v1/rollouts/users/pause", "", 409, rollout.Paused, 10, "cannot pause a rollout that is paused"},
		{"PUT", "/api/v1/rollouts/users/weight", `{"weight": 25}`, 200, rollout.Paused, 25, ""},
		{"POST", "/api/v1/rollouts/users/resume", "", 200, rollout.Progressing, 25, ""},
		{"POST", "/api/v1/rollouts/users/resume", "", 409, rollout.Progressing, 25, "cannot resume"},
		{"PUT", "/api/v1/rollouts/users/weight", `{"weight": 37.5}`, 200, rollout.Progressing, 37.5, ""},
		{"POST", "/api/v1/rollouts/users/promote", "", 200, rollout.Promoted, 100, ""},
		{"POST", "/api/v1/rollouts/users/promote", "", 409, rollout.Promoted, 100, "already promoted"},
		{"POST", "/api/v1/rollouts/users/abort", "", 200, rollout.RolledBack, 0, ""},
		{"POST", "/api/v1/rollouts/users/abort", "", 409, rollout.RolledBack, 0, "already rolled back"},
		{"POST", "/api/v1/rollouts/orders/abort", "", 404, rollout.RolledBack, 0, "has no rollout"},
		{"PUT", "/api/v1/rollouts/nope/weight", `{"weight": 5}`, 404, rollout.RolledBack, 0, "unknown service"},
		{"POST", "/api/v1/rollouts/users/resume", "", 200, rollout.Progressing, 10, ""},
		{"GET", "/api/v1/rollouts/users/promote", "", 405, rollout.Progressing, 10, "method not allowed"},
		{"DELETE", "/api/v1/rollouts/users", "", 405, rollout.Progressing, 10, "method not allowed"},
		{"POST", "/api/v1/rollouts/users/weight", `{"weight": 5}`, 405, rollout.Progressing, 10, "method not allowed"},
	}
	for i, s := range steps {
		code, body := do(f, t, s.method, s.path, "s3cret", s.body)
		if code != s.code {
			t.Fatalf("step %d: %s %s = %d %s; want %d", i, s.method, s.path, code, body, s.code)
		}
		if code == 200 {
			var st rollout.Status
			decode(t, body, &st)
			if st.State != s.state || st.Weight != s.weight {
				t.Fatalf("step %d: %s %s answered %s at %v; want %s at %v", i, s.method, s.path, st.State, st.Weight, s.state, s.weight)
			}
		} else {
			var e errorBody
			decode(t, body, &e)
			if e.Status != code || !strings.Contains(e.Error, s.msg) {
				t.Fatalf("step %d: %s %s error %s; want %q", i, s.method, s.path, body, s.msg)
			}
		}
		st, err := f.Engine.Status("users")
		if err != nil {
			t.Fatal(err)
		}
		if st.State != s.state || st.Weight != s.weight {
			t.Fatalf("step %d: engine is %s at %v; want %s at %v", i, st.State, st.Weight, s.state, s.weight)
		}
	}
}

func TestWeightValidation(t *testing.T) {
	f := newFixture(t, "")
	big := `{"weight": 5, "pad": "` + strings.Repeat("x", admin.MaxBodyBytes) + `"}`
	tests := []struct {
		name, body string
		code       int
		msg        string
	}{
		{"missing weight", `{}`, 400, `needs "weight"`},
		{"null weight", `{"weight": null}`, 400, `needs "weight"`},
		{"above 100", `{"weight": 100.5}`, 400, "outside 0..100"},
		{"negative", `{"weight": -1}`, 400, "outside 0..100"},
		{"negative zero", `{"weight": -0}`, 400, "outside 0..100"},
		{"negative zero decimal", `{"weight": -0.0}`, 400, "outside 0..100"},
		{"string", `{"weight": "25"}`, 400, "invalid JSON"},
		{"unknown field", `{"weight": 5, "step": 1}`, 400, `unknown field "step"`},
		{"not json", `weight=5`, 400, "invalid JSON"},
		{"empty", ``, 400, "empty"},
		{"trailing data", `{"weight": 5} {"weight": 6}`, 400, "after the JSON object"},
		{"array", `[5]`, 400, "invalid JSON"},
		{"too large", big, 413, "larger than 65536 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(f, t, "PUT", "/api/v1/rollouts/users/weight", "", tc.body)
			var e errorBody
			decode(t, body, &e)
			if code != tc.code || e.Status != tc.code || !strings.Contains(e.Error, tc.msg) {
				t.Fatalf("PUT %q = %d %s; want %d containing %q", tc.name, code, body, tc.code, tc.msg)
			}
			if st, _ := f.Engine.Status("users"); st.Weight != 10 {
				t.Fatalf("a rejected body changed the weight to %v", st.Weight)
			}
		})
	}
	for _, w := range []string{"0", "100", "0.5"} {
		code, body := do(f, t, "PUT", "/api/v1/rollouts/users/weight", "", `{"weight": `+w+`}`)
		if code != 200 {
			t.Fatalf("weight %s = %d %s", w, code, body)
		}
	}
}

func TestToken(t *testing.T) {
	mutations := []struct{ method, path, body string }{
		{"POST", "/api/v1/rollouts/users/pause", ""},
		{"POST", "/api/v1/rollouts/users/resume", ""},
		{"PUT", "/api/v1/rollouts/users/weight", `{"weight": 20}`},
		{"POST", "/api/v1/rollouts/users/promote", ""},
		{"POST", "/api/v1/rollouts/users/abort", ""},
	}
	f := newFixture(t, "s3cret")
	for _, m := range mutations {
		for _, tok := range []string{"", "wrong", "S3CRET"} {
			code, body := do(f, t, m.method, m.path, tok, m.body)
			if code != http.StatusUnauthorized || !strings.Contains(string(body), "bearer token") {
				t.Fatalf("%s %s with token %q = %d %s; want 401", m.method, m.path, tok, code, body)
			}
		}
		before, _ := f.Engine.Status("users")
		if code, body := do(f, t, m.method, m.path, "s3cret", m.body); code != http.StatusOK {
			t.Fatalf("%s %s with the token = %d %s", m.method, m.path, code, body)
		}
		if after, _ := f.Engine.Status("users"); after.State == before.State && after.Weight == before.Weight {
			t.Fatalf("%s %s with the token changed nothing", m.method, m.path)
		}
	}
	for _, p := range []string{"/api/v1/services", "/api/v1/rollouts", "/api/v1/rollouts/users", "/api/v1/events"} {
		if code, body := do(f, t, "GET", p, "", ""); code != http.StatusOK {
			t.Errorf("GET %s without a token = %d %s", p, code, body)
		}
	}
}

func TestEventsRecordManualActions(t *testing.T) {
	f := newFixture(t, "")
	for _, p := range []string{"pause", "resume", "promote"} {
		if code, body := do(f, t, "POST", "/api/v1/rollouts/users/"+p, "", ""); code != 200 {
			t.Fatalf("%s = %d %s", p, code, body)
		}
	}
	var got admin.EventList
	_, body := do(f, t, "GET", "/api/v1/events?service=users", "", "")
	decode(t, body, &got)
	var seen []string
	for i, ev := range got.Events {
		if i > 0 && ev.Seq <= got.Events[i-1].Seq {
			t.Fatalf("events not ascending: %s", body)
		}
		if ev.Service != "users" {
			t.Fatalf("event of another service: %+v", ev)
		}
		seen = append(seen, ev.Type+"/"+ev.Actor)
	}
	want := "rollout_started/config pause/api resume/api promotion/api"
	if strings.Join(seen, " ") != want {
		t.Fatalf("events %v; want %s", seen, want)
	}

	_, body = do(f, t, "GET", "/api/v1/events?service=users&limit=2", "", "")
	decode(t, body, &got)
	if len(got.Events) != 2 || got.Events[1].Type != "promotion" {
		t.Fatalf("limit=2 should give the last two: %s", body)
	}
	after := got.Events[0].Seq
	_, body = do(f, t, "GET", fmt.Sprintf("/api/v1/events?service=users&after=%d", after), "", "")
	decode(t, body, &got)
	if len(got.Events) != 1 || got.Events[0].Type != "promotion" {
		t.Fatalf("after=%d should give one event: %s", after, body)
	}
	_, body = do(f, t, "GET", "/api/v1/events?service=orders", "", "")
	if !strings.Contains(string(body), `"events": []`) {
		t.Fatalf("no events should be an empty list: %s", body)
	}
}

func TestLastAnalysisShown(t *testing.T) {
	f := newFixture(t, "")
	f.Clock.Advance(time.Second)
	for i := range 30 {
		f.Stats.Record(stats.Key{Service: "users", Version: "v2", Upstream: "users-v2"}, i == 0, 20*time.Millisecond)
	}
	f.Engine.Tick()
	var st rollout.Status
	_, body := do(f, t, "GET", "/api/v1/rollouts/users", "", "")
	decode(t, body, &st)
	if st.LastAnalysis == nil || st.LastAnalysis.Result != rollout.ResultPass || st.LastAnalysis.Requests != 30 ||
		len(st.LastAnalysis.Checks) != 2 {
		t.Fatalf("last_analysis = %+v\n%s", st.LastAnalysis, body)
	}
}

func TestOptionalEndpoints(t *testing.T) {
	srv := httptest.NewServer(admin.New(admin.Options{}))
	defer srv.Close()
	for _, p := range []string{"/api/v1/services", "/api/v1/rollouts", "/api/v1/events"} {
		resp, err := srv.Client().Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s without its dependency = %d; want 404", p, resp.StatusCode)
		}
	}
}

package admin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/stats"
)

// record adds n outcomes of (users, version) at the fixture's clock.
func record(f *fixture, version string, n int, failed bool, latency time.Duration) {
	for range n {
		f.Stats.Record(stats.Key{Service: "users", Version: version, Upstream: "users-" + version}, failed, latency)
	}
}

func TestSeries(t *testing.T) {
	f := newFixture(t, "s3cret") // reads need no token
	// 12:00:00 .. 12:00:29: 9 v1 requests and 1 failing v2 request per
	// second; 12:00:30: only v1.
	for range 30 {
		record(f, "v1", 9, false, 20*time.Millisecond)
		record(f, "v2", 1, true, 200*time.Millisecond)
		f.Clock.Advance(time.Second)
	}
	record(f, "v1", 5, false, 20*time.Millisecond)

	code, body := do(f, t, "GET", "/api/v1/series/users?span=1m&step=10s&window=1m", "", "")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var got admin.SeriesList
	decode(t, body, &got)
	if got.Service != "users" || got.Span != "1m0s" || got.Step != "10s" || got.Window != "1m0s" {
		t.Errorf("header = %+v", got)
	}
	if len(got.Versions) != 2 || got.Versions[0].Version != "v1" || got.Versions[1].Version != "v2" {
		t.Fatalf("versions: %s", body)
	}
	v1, v2 := got.Versions[0], got.Versions[1]
	if v1.Summary.Requests != 275 || v1.Summary.Errors != 0 || v2.Summary.Requests != 30 || v2.Summary.ErrorRate != 1 {
		t.Errorf("summaries v1 %+v v2 %+v", v1.Summary, v2.Summary)
	}
	if v1.Summary.Rate <= 0 || v2.Summary.P95Ms < 100 || v1.Summary.P95Ms > 50 {
		t.Errorf("rates/p95: v1 %+v v2 %+v", v1.Summary, v2.Summary)
	}
	if len(v1.Points) != 6 || len(v2.Points) != 6 {
		t.Fatalf("want 6 points of 10s each: %s", body)
	}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	// Points: 11:59:40, :50 (empty), 12:00:00, :10, :20 (9:1), :30 (v1 only).
	for i, p := range v1.Points {
		if want := start + int64(i-2)*10_000; p.T != want {
			t.Errorf("point %d at %d, want %d", i, p.T, want)
		}
	}
	if v1.Points[0].Share != nil || v2.Points[1].Share != nil {
		t.Errorf("points without traffic must have share null: %s", body)
	}
	for i := 2; i <= 4; i++ {
		p1, p2 := v1.Points[i], v2.Points[i]
		if p1.Requests != 90 || p2.Requests != 10 || p2.Errors != 10 || p2.ErrorRate != 1 {
			t.Errorf("point %d: v1 %+v v2 %+v", i, p1, p2)
		}
		if p1.Share == nil || p2.Share == nil || *p1.Share != 0.9 || *p2.Share != 0.1 {
			t.Errorf("point %d shares: %s", i, body)
		}
		if p1.Rate != 9 || p2.P95Ms < 100 {
			t.Errorf("point %d rate/p95: v1 %+v v2 %+v", i, p1, p2)
		}
	}
	if last := v2.Points[5]; last.Share == nil || *last.Share != 0 || *v1.Points[5].Share != 1 {
		t.Errorf("last point: v1 only; got %s", body)
	}
}

func TestSeriesDefaultsAndErrors(t *testing.T) {
	f := newFixture(t, "")
	code, body := do(f, t, "GET", "/api/v1/series/orders", "", "")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var got admin.SeriesList
	decode(t, body, &got)
	// 15 minutes in 10-second points (the coarse ring's resolution).
	if got.Span != "15m0s" || got.Step != "10s" || got.Window != "15m0s" || len(got.Versions) != 1 {
		t.Fatalf("defaults: %+v", got)
	}
	if v := got.Versions[0]; v.Version != "v1" || len(v.Points) != 90 || v.Summary.Requests != 0 || v.Points[0].Share != nil {
		t.Errorf("orders v1 without traffic = %+v", v)
	}
	tests := []struct {
		path string
		code int
		want string
	}{
		{"/api/v1/series/nope", 404, `unknown service \"nope\"`},
		{"/api/v1/series/users?span=soon", 400, `span=\"soon\" must be a duration from 1s to 15m0s`},
		{"/api/v1/series/users?span=16m", 400, "span="},
		{"/api/v1/series/users?span=1m&step=2m", 400, "step="},
		{"/api/v1/series/users?step=0s", 400, "step="},
		{"/api/v1/series/users?window=-1s", 400, "window="},
		{"/api/v1/series/users?span=2m&step=2s", 200, `"step": "2s"`},
	}
	for _, tt := range tests {
		code, body := do(f, t, "GET", tt.path, "", "")
		if code != tt.code || !strings.Contains(string(body), tt.want) {
			t.Errorf("GET %s = %d %s, want %d with %s", tt.path, code, body, tt.code, tt.want)
		}
	}
}

// TestSeriesNotRegistered: without Options.Stats there is no endpoint.
func TestSeriesNotRegistered(t *testing.T) {
	rec := serve(admin.New(admin.Options{}), "GET", "/api/v1/series/users", nil)
	if rec.Code != http.StatusNotFound {
		t.Errorf("status %d, want 404", rec.Code)
	}
}

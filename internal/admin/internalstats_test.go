package admin_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/stats"
)

// getInternal sends GET /api/v1/internal/stats with the given queries,
// token and Host, and returns the status, Content-Type and body.
func getInternal(t *testing.T, f *fixture, host, token string, qs ...string) (int, string, []byte) {
	t.Helper()
	v := url.Values{"q": qs}
	req, err := http.NewRequest(http.MethodGet, f.Srv.URL+"/api/v1/internal/stats?"+v.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.Srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func TestInternalStatsExportsWindows(t *testing.T) {
	f := newFixture(t, "s3cret")
	for i := range 30 {
		f.Stats.Record(stats.Key{Service: "users", Version: "v2", Upstream: "users-v2"}, i < 3, time.Duration(i+1)*time.Millisecond)
		f.Stats.Record(stats.Key{Service: "users", Version: "v1", Upstream: "users-v1"}, false, time.Millisecond)
	}
	f.Clock.Advance(2 * time.Second)
	q := stats.FormatQuery(stats.Query{Service: "users", Window: 10 * time.Second})
	status, ct, body := getInternal(t, f, "", "s3cret", q, "ghost/10s/0")
	if status != http.StatusOK || ct != stats.ExportContentType {
		t.Fatalf("status %d, Content-Type %q: %s", status, ct, body)
	}
	e, err := stats.DecodeExport(body)
	if err != nil {
		t.Fatal(err)
	}
	got := e.Summary("users", "v2")
	want := f.Stats.VersionWindow("users", "v2", 10*time.Second, time.Time{})
	if got != want || got.Requests != 30 || got.Errors != 3 {
		t.Fatalf("v2 over the wire %+v, registry %+v", got, want)
	}
	if e.Len() != 2 {
		t.Fatalf("windows %v: want users' v1 and v2, the unknown service absent", e.Keys())
	}
}

// TestInternalStatsNeedsToken: the endpoint is a GET, yet it needs the
// token whatever the configuration, and refuses foreign Host names.
func TestInternalStatsNeedsToken(t *testing.T) {
	f := newFixture(t, "s3cret")
	q := "users/10s/0"
	for _, tc := range []struct {
		name, host, token string
		want              int
	}{
		{"no token", "", "", http.StatusUnauthorized},
		{"wrong token", "", "guess", http.StatusUnauthorized},
		{"foreign host", "evil.example:80", "s3cret", http.StatusForbidden},
		{"right token", "", "s3cret", http.StatusOK},
	} {
		if status, _, body := getInternal(t, f, tc.host, tc.token, q); status != tc.want {
			t.Errorf("%s: status %d, want %d: %s", tc.name, status, tc.want, body)
		}
	}
	// The other reads of this API are open without a tokens file.
	if status, _ := do(f, t, http.MethodGet, "/api/v1/rollouts/users", "", ""); status != http.StatusOK {
		t.Fatalf("an ordinary read answered %d", status)
	}
	open := newFixture(t, "")
	status, _, body := getInternal(t, open, "", "", q)
	var eb errorBody
	decode(t, body, &eb)
	if status != http.StatusForbidden || !strings.Contains(eb.Error, "token") {
		t.Fatalf("without any token configured: %d %s, want 403", status, body)
	}
}

func TestInternalStatsBadQuery(t *testing.T) {
	f := newFixture(t, "s3cret")
	for _, qs := range [][]string{nil, {"users"}, {"users/0s/0"}, {"users/1h/0"}, {"users/10s/yesterday"}, {"users/10s/0/"}} {
		status, _, body := getInternal(t, f, "", "s3cret", qs...)
		var eb errorBody
		decode(t, body, &eb)
		if status != http.StatusBadRequest || eb.Error == "" {
			t.Errorf("q=%q: %d %s, want 400 saying why", qs, status, body)
		}
	}
	if _, err := stats.ParseQuery("users/1h/0"); !errors.Is(err, stats.ErrBadQuery) {
		t.Fatalf("ParseQuery: %v", err)
	}
}

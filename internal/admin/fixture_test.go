package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/adminfix"
)

// fixture is the shared admin fixture (see package adminfix).
type fixture = adminfix.Fixture

func newFixture(t *testing.T, token string) *fixture {
	return adminfix.New(t, token, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

// do sends one request and returns the status and body.
func do(f *fixture, t *testing.T, method, path, token, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.Srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
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
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return resp.StatusCode, b
}

// decode unmarshals b into v or fails the test.
func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("body is not the expected JSON: %v\n%s", err, b)
	}
}

// errorBody is the admin API's error shape.
type errorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

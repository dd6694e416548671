package admin_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/admin"
)

// TestInternalUsage: GET /api/v1/internal/usage answers this member's
// usage of one version with the token, 401 without it, and 400 naming
// what is wrong with a missing version or a bad window.
func TestInternalUsage(t *testing.T) {
	api := admin.New(admin.Options{Token: func() string { return "s3cret" }, Log: slog.New(slog.DiscardHandler),
		RecentUsage: func(service, version string, window time.Duration) (uint64, []string) {
			if service == "users" && version == "v1" && window == 10*time.Minute {
				return 7, []string{"acme"}
			}
			return 0, nil
		}})
	srv := httptest.NewServer(api)
	defer srv.Close()
	get := func(query, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/internal/usage?"+query, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.Join(strings.Fields(string(b)), "")
	}
	if code, body := get("service=users&version=v1&window=10m", "s3cret"); code != http.StatusOK || body != `{"clients":["acme"],"requests":7}` {
		t.Fatalf("with the token: %d %s", code, body)
	}
	if code, body := get("service=users&version=v0&window=10m", "s3cret"); code != http.StatusOK || body != `{"clients":[],"requests":0}` {
		t.Fatalf("an unseen version: %d %s", code, body)
	}
	if code, _ := get("service=users&version=v1&window=10m", ""); code != http.StatusUnauthorized {
		t.Fatalf("without the token: %d, want 401", code)
	}
	for _, q := range []string{"service=users&window=10m", "service=users&version=v1&window=soon", "service=users&version=v1&window=48h"} {
		if code, body := get(q, "s3cret"); code != http.StatusBadRequest || !strings.Contains(body, "want") {
			t.Fatalf("%s: %d %s, want 400 saying what is wanted", q, code, body)
		}
	}
}

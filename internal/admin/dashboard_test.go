package admin_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/admin"
)

// serve runs one request through h and returns the recorded answer.
func serve(h http.Handler, method, path string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://127.0.0.1:9901"+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestDashboardFiles(t *testing.T) {
	api := admin.New(admin.Options{})
	tests := []struct {
		path, ctype, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/ui/app.js">`},
		{"/ui/app.js", "text/javascript; charset=utf-8", "import"},
		{"/ui/style.css", "text/css; charset=utf-8", ".card"},
	}
	for _, tt := range tests {
		rec := serve(api, "GET", tt.path, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d", tt.path, rec.Code)
		}
		h := rec.Header()
		if h.Get("Content-Type") != tt.ctype || h.Get("Cache-Control") != "no-cache" || h.Get("ETag") == "" ||
			h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s headers = %v", tt.path, h)
		}
		if !strings.Contains(rec.Body.String(), tt.contains) {
			t.Errorf("GET %s body lacks %q", tt.path, tt.contains)
		}
		// A revalidation with the same ETag is answered 304 without a body.
		again := serve(api, "GET", tt.path, http.Header{"If-None-Match": {h.Get("ETag")}})
		if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("GET %s with If-None-Match = %d, %d bytes", tt.path, again.Code, again.Body.Len())
		}
	}
	if csp := serve(api, "GET", "/", nil).Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("index CSP = %q", csp)
	}
	if head := serve(api, "HEAD", "/", nil); head.Code != http.StatusOK || head.Body.Len() != 0 {
		t.Errorf("HEAD / = %d with %d bytes", head.Code, head.Body.Len())
	}
}

func TestDashboardNotFound(t *testing.T) {
	api := admin.New(admin.Options{})
	for _, p := range []string{"/ui/", "/ui/nope.js", "/ui/index.html", "/index.html", "/dashboard"} {
		rec := serve(api, "GET", p, nil)
		if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Errorf("GET %s = %d %q; want a 404 JSON error", p, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	if rec := serve(api, "POST", "/", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d; want 405", rec.Code)
	}
}

// TestDashboardModulesResolve: every file the page and its modules load is
// served, so a missing or misnamed module shows up here, not in a browser.
func TestDashboardModulesResolve(t *testing.T) {
	srv := httptest.NewServer(admin.New(admin.Options{}))
	defer srv.Close()
	ref := regexp.MustCompile(`(?:src|href)="(/ui/[^"]+)"|from '\./([^']+)'`)
	seen := map[string]bool{}
	queue := []string{"/"}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		resp, err := srv.Client().Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", p, resp.StatusCode)
			continue
		}
		for _, m := range ref.FindAllStringSubmatch(string(b), -1) {
			next := m[1]
			if next == "" {
				next = "/ui/" + m[2]
			}
			if !seen[next] {
				seen[next] = true
				queue = append(queue, next)
			}
		}
	}
	for _, want := range []string{"/ui/app.js", "/ui/style.css", "/ui/chart.js", "/ui/api.js", "/ui/card.js"} {
		if !seen[want] {
			t.Errorf("%s is not referenced from the page (saw %v)", want, seen)
		}
	}
}

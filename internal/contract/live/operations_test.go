package live

import "testing"

// TestOperation names requests by their document's path templates: the
// most specific template wins, a server's base path may prefix the path,
// and what the document does not declare is "".
func TestOperation(t *testing.T) {
	f := newFixture(t, Options{})
	for _, tc := range []struct{ version, method, path, want string }{
		{"v1", "GET", "/items/42", "GET /items/{id}"},
		{"v1", "GET", "/items/latest", "GET /items/latest"},
		{"v1", "GET", "/api/items/7", "GET /items/{id}"},
		{"v1", "GET", "/items/legacy/7", "GET /items/legacy/{id}"},
		{"v1", "DELETE", "/items/42", ""},
		{"v1", "GET", "/orders/1", ""},
		{"v9", "GET", "/items/42", ""},
	} {
		if got := f.m.Operation("items", tc.version, tc.method, tc.path); got != tc.want {
			t.Errorf("Operation(%s %s %s) = %q, want %q", tc.version, tc.method, tc.path, got, tc.want)
		}
	}
	if got := f.m.Operation("nope", "v1", "GET", "/items/1"); got != "" {
		t.Errorf("unknown service: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { f.m.Operation("items", "v1", "GET", "/api/items/7") }); n != 0 {
		t.Errorf("Operation allocates %v times", n)
	}
}

package admin

import (
	"net/http/httptest"
	"testing"
)

func TestHostAllowed(t *testing.T) {
	names := []string{"turnout-admin.example.com", "Ops.Example.com:9901"}
	for host, want := range map[string]bool{
		"":                               true,
		"127.0.0.1:9901":                 true,
		"10.1.2.3":                       true,
		"[::1]:9901":                     true,
		"[fe80::1%25eth0]:9901":          true,
		"localhost:9901":                 true,
		"LocalHost.:9901":                true,
		"app.localhost:9901":             false,
		"turnout-admin.example.com:9901": true,
		"TURNOUT-ADMIN.example.com":      true,
		"ops.example.com":                true,
		"evil.example:9901":              false,
		"127.0.0.1.nip.io:9901":          false,
		"localhost.evil.example":         false,
		"example.com":                    false,
	} {
		if got := hostAllowed(host, names); got != want {
			t.Errorf("hostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestOriginAllowed(t *testing.T) {
	names := []string{"turnout-admin.example.com"}
	for _, tc := range []struct {
		host, origin string
		want         bool
	}{
		{"127.0.0.1:9901", "", true},
		{"127.0.0.1:9901", "http://127.0.0.1:9901", true},
		{"localhost:9901", "http://LOCALHOST:9901", true},
		{"127.0.0.1:9901", "https://turnout-admin.example.com", true},
		{"127.0.0.1:9901", "http://127.0.0.1:9902", false},
		{"127.0.0.1:9901", "http://localhost:9901", false},
		{"127.0.0.1:9901", "null", false},
		{"127.0.0.1:9901", "file://", false},
		{"127.0.0.1:9901", "http://evil.example", false},
		{"127.0.0.1:9901", "%%", false},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Host = tc.host
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := originAllowed(r, names); got != tc.want {
			t.Errorf("originAllowed(Host %q, Origin %q) = %v, want %v", tc.host, tc.origin, got, tc.want)
		}
	}
}

package negotiate

import "testing"

func TestSplitPathVersion(t *testing.T) {
	for _, tc := range []struct {
		path, version, rest string
		ok                  bool
	}{
		{"/v2/users/1", "v2", "/users/1", true},
		{"/v2.1/users", "v2.1", "/users", true},
		{"/v2.1.3/users", "v2.1.3", "/users", true},
		{"/V10/users", "V10", "/users", true},
		{"/v2", "v2", "/", true},
		{"/v2/", "v2", "/", true},
		{"/v0//x", "v0", "//x", true},
		{"/users", "", "/users", false},
		{"/version/x", "", "/version/x", false},
		{"/v", "", "/v", false},
		{"/v/", "", "/v/", false},
		{"/v2.", "", "/v2.", false},
		{"/v.2", "", "/v.2", false},
		{"/v2..1", "", "/v2..1", false},
		{"/v1.2.3.4/x", "", "/v1.2.3.4/x", false},
		{"/v2a/x", "", "/v2a/x", false},
		{"/vv2/x", "", "/vv2/x", false},
		{"/2/x", "", "/2/x", false},
		{"v2/x", "", "v2/x", false},
		{"//v2/x", "", "//v2/x", false},
		{"", "", "", false},
		{"/", "", "/", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			v, rest, ok := SplitPathVersion(tc.path)
			if v != tc.version || rest != tc.rest || ok != tc.ok {
				t.Fatalf("SplitPathVersion(%q) = %q, %q, %v; want %q, %q, %v",
					tc.path, v, rest, ok, tc.version, tc.rest, tc.ok)
			}
		})
	}
}

func TestSplitPathVersionZeroAllocs(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		SplitPathVersion("/v2.1/users/1")
		SplitPathVersion("/users/1")
	})
	if allocs != 0 {
		t.Fatalf("SplitPathVersion allocated %v times per run, want 0", allocs)
	}
}

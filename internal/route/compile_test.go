package route

import "testing"

// TestCompileSharesNameTables: services that declare the same version names
// share one resolver and 406 version list.
func TestCompileSharesNameTables(t *testing.T) {
	tb := mustTable(t, manyServices(3))
	a, b := tb.Service("svc0"), tb.Service("svc2")
	if a.resolver != b.resolver || &a.versionsJS[0] != &b.versionsJS[0] {
		t.Error("services with the same version names do not share their name tables")
	}
	if tb.Service("users").resolver == a.resolver {
		t.Error("services with different version names share a resolver")
	}
}

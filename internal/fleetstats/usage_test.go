package fleetstats

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/stats"
)

// usageMember serves the real admin API with this usage of users/v1 on
// 127.0.0.1:0, accepting token.
func usageMember(t *testing.T, name, token string, n uint64, clients ...string) Member {
	t.Helper()
	api := admin.New(admin.Options{
		Token: func() string { return token },
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		RecentUsage: func(service, version string, window time.Duration) (uint64, []string) {
			if service != "users" || version != "v1" || window != 10*time.Minute {
				return 0, nil
			}
			return n, clients
		},
	})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return Member{Name: name, Advertise: srv.URL}
}

// TestRecentUsageSumsTheFleet: the fleet's usage is this member's plus
// every other's (requests summed, clients merged once each); a member
// that does not answer, or refuses the token, is named in a *PullError.
func TestRecentUsageSumsTheFleet(t *testing.T) {
	b := usageMember(t, "b", fleetToken, 3, "acme", "globex")
	c := usageMember(t, "c", fleetToken, 2, "acme")
	local := Usage{Requests: 1, Clients: []string{"initech"}}
	members := []Member{b, c}
	src, err := New("a", stats.NewRegistry(time.Now), func() []Member { return members }, WithToken(func() string { return fleetToken }))
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.RecentUsage(local, "users", "v1", 10*time.Minute)
	if err != nil || got.Requests != 6 || !slices.Equal(got.Clients, []string{"acme", "globex", "initech"}) {
		t.Fatalf("fleet usage %+v (%v), want 6 requests by acme, globex, initech", got, err)
	}

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	wrong := usageMember(t, "e", "another-token", 9, "hooli")
	members = []Member{b, {Name: "d", Advertise: down.URL}, wrong}
	got, err = src.RecentUsage(local, "users", "v1", 10*time.Minute)
	var pe *PullError
	if !errors.As(err, &pe) || !slices.Equal(pe.Names(), []string{"d", "e"}) || !errors.Is(err, ErrUnreachable) {
		t.Fatalf("with d down and e refusing: %v, want a PullError naming d and e", err)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusUnauthorized {
		t.Fatalf("e's refusal: %v, want 401", err)
	}
	if got.Requests != 4 {
		t.Fatalf("partial usage %+v, want 4 (this member's and b's)", got)
	}
}

package fleetstats

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/turnout-gw/turnout/internal/admin"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

// member is one fleet member in a test: its registry behind the real admin
// API on a real server on 127.0.0.1:0, counting the stats pulls it
// answers.
type member struct {
	name  string
	reg   *stats.Registry
	srv   *httptest.Server
	pulls atomic.Int64
}

func (m *member) Member() Member { return Member{Name: m.name, Advertise: m.srv.URL} }

// newMember starts a member whose admin API accepts token. If hang is not
// nil, its stats endpoint blocks until the request is abandoned or hang is
// closed.
func newMember(t testing.TB, name, token string, clock *testclock.Clock, hang chan struct{}) *member {
	t.Helper()
	m := &member{name: name, reg: stats.NewRegistry(clock.Now)}
	api := admin.New(admin.Options{
		Token: func() string { return token },
		Stats: m.reg,
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == StatsPath {
			m.pulls.Add(1)
			if hang != nil {
				select {
				case <-r.Context().Done():
				case <-hang:
				}
				return
			}
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// membersOf lists ms as live members.
func membersOf(ms ...*member) func() []Member {
	return func() []Member {
		out := make([]Member, len(ms))
		for i, m := range ms {
			out[i] = m.Member()
		}
		return out
	}
}

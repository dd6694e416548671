package cli

import (
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/adminfix"
)

// fixture is the shared admin fixture (see package adminfix): the real admin
// API over a real engine, store, stats registry and routing snapshot.
type fixture = adminfix.Fixture

func newFixture(t *testing.T, token string) *fixture {
	return adminfix.New(t, token, time.Now().Add(-90*time.Second).Truncate(time.Second))
}

package core

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
)

// TestShortTokenWarns: a token shorter than MinTokenLength is named in a
// warning at start (the failed-token limit lets a valid token through, so
// it cannot slow the guessing of a short one); a long one is not.
func TestShortTokenWarns(t *testing.T) {
	for _, tc := range []struct {
		token string
		warn  bool
	}{{"hunter2", true}, {strings.Repeat("a", MinTokenLength), false}, {"", false}} {
		t.Setenv("TURNOUT_TEST_TOKEN", tc.token)
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		cfg := &config.Config{Admin: config.Admin{TokenEnv: "TURNOUT_TEST_TOKEN"}}
		if _, err := newAdminTokens(cfg, func() *config.Config { return cfg }, time.Now, log); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "admin token is short"); got != tc.warn {
			t.Errorf("token of %d characters: warned %v, want %v (log %q)", len(tc.token), got, tc.warn, buf.String())
		}
	}
}

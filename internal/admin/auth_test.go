package admin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

func TestTokensLookup(t *testing.T) {
	h := sha256.Sum256([]byte("alice-secret"))
	file := &config.TokensFile{Tokens: []*config.AdminToken{
		{Name: "alice", Role: config.RoleOperator, SHA256: strings.ToUpper(hex.EncodeToString(h[:]))},
		{Name: "grafana", Role: config.RoleViewer, Token: "viewer-secret"},
	}}
	toks := NewTokens(file, "env-secret")
	for _, tc := range []struct {
		token string
		want  Principal
		ok    bool
	}{
		{"alice-secret", Principal{"alice", config.RoleOperator}, true},
		{"viewer-secret", Principal{"grafana", config.RoleViewer}, true},
		{"env-secret", Principal{EnvTokenName, config.RoleOperator}, true},
		{"ALICE-SECRET", Principal{}, false},
		{"", Principal{}, false},
	} {
		got, ok := toks.lookup(tc.token)
		if got != tc.want || ok != tc.ok {
			t.Errorf("lookup(%q) = %v %v, want %v %v", tc.token, got, ok, tc.want, tc.ok)
		}
	}
	if !toks.readsNeedToken || NewTokens(nil, "x").readsNeedToken {
		t.Error("reads need a token exactly when a tokens file is configured")
	}
	if !NewTokens(nil, "").open() || toks.open() {
		t.Error("only an API without any token is open")
	}
}

// TestAuthLimiter: burst failures are allowed, the next attempt waits for
// the refill; addresses are independent; recovered addresses are forgotten
// when the table is full.
func TestAuthLimiter(t *testing.T) {
	clk := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newAuthLimiter(clk.Now, 3, time.Second)
	for i := 0; i < 3; i++ {
		if w := l.blocked("10.0.0.1"); w != 0 {
			t.Fatalf("blocked before failure %d for %v", i, w)
		}
		l.fail("10.0.0.1")
	}
	if w := l.blocked("10.0.0.1"); w != time.Second {
		t.Fatalf("after the burst: wait %v, want 1s", w)
	}
	if w := l.blocked("10.0.0.2"); w != 0 {
		t.Fatalf("another address waits %v", w)
	}
	clk.Advance(400 * time.Millisecond)
	if w := l.blocked("10.0.0.1"); w != 600*time.Millisecond {
		t.Fatalf("wait %v, want 600ms", w)
	}
	clk.Advance(600 * time.Millisecond)
	if w := l.blocked("10.0.0.1"); w != 0 {
		t.Fatalf("after the refill: wait %v", w)
	}
	clk.Advance(time.Hour)
	l.forgetRecovered(clk.Now())
	if len(l.buckets) != 0 {
		t.Errorf("%d recovered buckets kept", len(l.buckets))
	}
}

// TestFailedAuthLogged: a wrong token is logged with the client address,
// a missing one is not counted against it; past the burst a wrong token
// gets 429, and the right one from the same address still acts.
func TestFailedAuthLogged(t *testing.T) {
	var buf bytes.Buffer
	clk := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	reloads := 0
	a := New(Options{Token: func() string { return "s3cret" }, Now: clk.Now, AuthBurst: 1,
		Reload: ReloaderFunc(func(string) error { reloads++; return nil }),
		Log:    slog.New(slog.NewTextHandler(&buf, nil))})
	send := func(token string) int {
		req := httptest.NewRequest("POST", "http://127.0.0.1:9901/api/v1/reload", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := 0; i < 3; i++ {
		if code := send(""); code != http.StatusUnauthorized {
			t.Fatalf("missing token = %d, want 401", code)
		}
	}
	if code := send("wrong"); code != http.StatusUnauthorized {
		t.Fatalf("wrong token = %d, want 401", code)
	}
	if code := send("wrong"); code != http.StatusTooManyRequests {
		t.Fatalf("wrong token after the burst of 1 = %d, want 429", code)
	}
	if code := send("s3cret"); code != http.StatusOK || reloads != 1 {
		t.Fatalf("the right token after the burst = %d (%d reloads), want 200 and a reload", code, reloads)
	}
	if !strings.Contains(buf.String(), "authentication failed") || !strings.Contains(buf.String(), "remote=192.0.2.1") {
		t.Errorf("log does not record the failure with the address:\n%s", buf.String())
	}
}

// TestAuthSource: failures are counted per IPv4 address and per IPv6 /64.
func TestAuthSource(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.7:1234":                "192.0.2.7",
		"[2001:db8:1:2:aaaa::1]:1234":   "2001:db8:1:2::/64",
		"[2001:db8:1:2:bbbb::9%eth0]:1": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:1234":       "192.0.2.7",
		"not an address":                "not an address",
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = remote
		if got := source(req); got != want {
			t.Errorf("source(%s) = %s, want %s", remote, got, want)
		}
	}
}

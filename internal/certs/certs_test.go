package certs

import (
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/filevalue"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
	"github.com/turnout-gw/turnout/internal/testutil/testpki"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestKeyPairReload: a rewritten pair is picked up at the first use one
// filevalue.CheckInterval later, not before; a broken rewrite keeps the last good
// pair; a pair that cannot be loaded at all is an error naming the file.
func TestKeyPairReload(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, dir, "ca")
	leaf := ca.Issue(t, dir, "pair", testpki.Spec{CN: "first", Client: true})
	clk := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	kp, err := NewKeyPair("test pair", leaf.CertFile, leaf.KeyFile, WithClock(clk.Now), WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	cn := func() string {
		c, err := kp.GetClientCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.Subject.CommonName
	}
	steps := []struct {
		name    string
		rewrite func()
		advance time.Duration
		want    string
	}{
		{"loaded", nil, 0, "first"},
		{"rewritten, checked too soon", func() { ca.Issue(t, dir, "pair", testpki.Spec{CN: "second", Client: true}) }, filevalue.CheckInterval / 2, "first"},
		{"one interval after the last check", nil, filevalue.CheckInterval, "second"},
		{"broken certificate keeps the last good", func() {
			if err := os.WriteFile(leaf.CertFile, []byte("not pem"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, filevalue.CheckInterval, "second"},
		{"repaired", func() { ca.Issue(t, dir, "pair", testpki.Spec{CN: "third", Client: true}) }, filevalue.CheckInterval, "third"},
	}
	for _, s := range steps {
		if s.rewrite != nil {
			s.rewrite()
		}
		clk.Advance(s.advance)
		if got := cn(); got != s.want {
			t.Errorf("%s: certificate CN %q, want %q", s.name, got, s.want)
		}
	}
	if _, err := NewKeyPair("test pair", leaf.CertFile, dir+"/absent.key"); err == nil {
		t.Error("NewKeyPair with a missing key succeeded")
	}
}

func TestMinVersion(t *testing.T) {
	for in, want := range map[string]uint16{"": 0x0303, "1.2": 0x0303, "1.3": 0x0304} {
		if got := MinVersion(in); got != want {
			t.Errorf("MinVersion(%q) = %#x, want %#x", in, got, want)
		}
	}
}

func TestOptionsRefuseNil(t *testing.T) {
	if _, err := NewKeyPair("x", "a", "b", WithClock(nil)); err == nil {
		t.Error("WithClock(nil) accepted")
	}
	if _, err := NewKeyPair("x", "a", "b", WithLogger(nil)); err == nil {
		t.Error("WithLogger(nil) accepted")
	}
}

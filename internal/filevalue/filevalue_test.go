package filevalue

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

// TestValue: the value is loaded once at New, checked no more than once
// per CheckInterval, loaded again when the file's contents, size or inode
// change (a same-size, same-mtime replacement by rename included), and a
// failing load keeps the last good value.
func TestValue(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v.txt")
	stamp := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	write := func(s string) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(tmp, stamp, stamp); err != nil { // the same mtime every time
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write("aaa")
	loads := 0
	load := func() (*string, error) {
		loads++
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if string(b) == "bad" {
			return nil, errors.New("bad contents")
		}
		s := string(b)
		return &s, nil
	}
	clk := testclock.New(stamp)
	v, err := New("test", []string{path}, load, clk.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name      string
		write     string
		advance   time.Duration
		want      string
		wantLoads int
	}{
		{"loaded at New", "", 0, "aaa", 1},
		{"unchanged file is not loaded again", "", CheckInterval, "aaa", 1},
		{"change seen only after the interval", "bbb", CheckInterval / 2, "aaa", 1},
		{"same size and mtime, new inode", "", CheckInterval, "bbb", 2},
		{"failed load keeps the last good", "bad", CheckInterval, "bbb", 3},
		{"repaired", "cccc", CheckInterval, "cccc", 4},
	}
	for _, s := range steps {
		if s.write != "" {
			write(s.write)
		}
		clk.Advance(s.advance)
		if got := *v.Get(); got != s.want || loads != s.wantLoads {
			t.Errorf("%s: value %q after %d loads, want %q after %d", s.name, got, loads, s.want, s.wantLoads)
		}
	}
	if _, err := New("test", []string{filepath.Join(dir, "absent")}, load, nil, nil); err == nil {
		t.Error("New with a missing file succeeded")
	}
}

// BenchmarkGet is the cost every TLS handshake pays to ask for the current
// material between checks.
func BenchmarkGet(b *testing.B) {
	path := filepath.Join(b.TempDir(), "v.txt")
	if err := os.WriteFile(path, []byte("v"), 0o600); err != nil {
		b.Fatal(err)
	}
	s := "v"
	v, err := New("bench", []string{path}, func() (*string, error) { return &s, nil }, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = v.Get()
	}
}

package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmptiedFileKeepsRolledBack: a store holding a rolled_back rollout,
// then emptied to 0 bytes (a full disk, a careless copy), is refused with
// the command to start fresh, never formatted as a new store; after that
// command, a new store opens.
func TestEmptiedFileKeepsRolledBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "turnout.db")
	s := mustOpen(t, path)
	ro := sampleRollout("users")
	ro.State, ro.Weight = StateRolledBack, 0
	if err := s.PutRollout(ro); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "mv "+path+" "+path+".damaged") {
		t.Fatalf("Open of the emptied file = %v; want ErrCorrupt with the mv command", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Fatalf("the refused file was changed: %v %v", fi, err)
	}
	if err := os.Rename(path, path+".damaged"); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path)
	defer s.Close()
	if _, ok, err := s.GetRollout("users"); ok || err != nil {
		t.Fatalf("fresh store: users present %v, err %v", ok, err)
	}
}

// TestCreateLeavesOnlyTheStore: a new store is made under a temporary
// name and linked into place, leaving nothing else in the directory.
func TestCreateLeavesOnlyTheStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "turnout.db")
	s := mustOpen(t, path)
	_ = s.Close()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "turnout.db" {
		t.Fatalf("directory holds %v, want only turnout.db", ents)
	}
	s = mustOpen(t, path) // and it opens again as ours
	_ = s.Close()
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/var/lib/turnout/turnout.db": "/var/lib/turnout/turnout.db",
		"/data/my state.db":           `'/data/my state.db'`,
		"it's.db":                     `'it'\''s.db'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

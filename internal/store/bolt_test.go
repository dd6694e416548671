package store

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Helper-process pattern: the test binary re-executes itself with
// TURNOUT_STORE_HELPER set to play another turnout process.
const (
	helperEnv = "TURNOUT_STORE_HELPER"
	pathEnv   = "TURNOUT_STORE_PATH"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode, os.Getenv(pathEnv)))
	}
	os.Exit(m.Run())
}

// runHelper: "hold" opens the store and holds it; "kill" writes, reports
// ready and waits for SIGKILL; "exit" writes and exits without Close.
func runHelper(mode, path string) int {
	s, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if mode != "hold" {
		if err := writeCrashData(s); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
	}
	if mode == "exit" {
		os.Exit(0) // no Close: the process just ends
	}
	fmt.Println("ready")
	time.Sleep(time.Minute) // the parent kills us long before
	return 4
}

func writeCrashData(s Store) error {
	r := sampleRollout("users")
	r.State, r.Weight, r.WeightSource = StatePaused, 37.5, SourceAPI
	if err := s.PutRollout(r); err != nil {
		return err
	}
	for i := range 3 {
		if _, err := s.Append(Event{Service: "users", Type: "weight_change", Actor: "api", Message: fmt.Sprint(i)}); err != nil {
			return err
		}
	}
	return s.PutBlob("diffs", "users", []byte("sample"))
}

// startHelper runs the helper and waits for its "ready" line.
func startHelper(t *testing.T, mode, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, pathEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper %s: read %q, %v", mode, line, err)
	}
	return cmd
}

func killHelper(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

func TestCrashDurability(t *testing.T) {
	for _, mode := range []string{"kill", "exit"} {
		t.Run(mode, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "turnout.db")
			if mode == "kill" {
				killHelper(t, startHelper(t, mode, path))
			} else {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), helperEnv+"="+mode, pathEnv+"="+path)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("helper: %v\n%s", err, out)
				}
			}
			s := mustOpen(t, path)
			r, ok, err := s.GetRollout("users")
			if err != nil || !ok || r.State != StatePaused || r.Weight != 37.5 || r.WeightSource != SourceAPI {
				t.Fatalf("after crash: rollout %+v, %v, %v", r, ok, err)
			}
			evs, err := s.Events(EventQuery{Service: "users"})
			if err != nil || len(evs) != 3 || evs[2].Seq != 3 || evs[2].Message != "2" {
				t.Fatalf("after crash: events %+v, %v", evs, err)
			}
			if v, ok, _ := s.GetBlob("diffs", "users"); !ok || string(v) != "sample" {
				t.Fatalf("after crash: blob %q, %v", v, ok)
			}
			if e, _ := s.Append(Event{Type: "config_reload"}); e.Seq != 4 {
				t.Fatalf("Seq after crash = %d, want 4", e.Seq)
			}
		})
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "turnout.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeCrashData(s); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path, WithMaxEvents(2)) // a smaller maximum applies from the next Append
	if evs, _ := s.Events(EventQuery{}); len(evs) != 2 || evs[0].Seq != 2 {
		t.Fatalf("reopened with max 2: events %v", seqs(evs))
	}
	e, err := s.Append(Event{Type: "step"})
	if err != nil || e.Seq != 4 {
		t.Fatalf("Seq after reopen = %d, %v; want 4", e.Seq, err)
	}
	if list, _ := s.Rollouts(); len(list) != 1 || list[0].Weight != 37.5 {
		t.Fatalf("rollouts after reopen: %+v", list)
	}
}

// TestPrunePhysical checks that pruning really deletes records, within the slack.
func TestPrunePhysical(t *testing.T) {
	const limit = 128 // slack 2
	s := mustOpen(t, filepath.Join(t.TempDir(), "turnout.db"), WithMaxEvents(limit))
	for range 400 {
		if _, err := s.Append(Event{Type: "step", Message: strings.Repeat("x", 100)}); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	_ = s.(*boltStore).db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketEvents).Stats().KeyN
		return nil
	})
	if n < limit || n > limit+pruneSlack(limit) {
		t.Fatalf("%d event records stored, want %d..%d", n, limit, limit+pruneSlack(limit))
	}
}

func TestLockedSameProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "turnout.db")
	first := mustOpen(t, path)
	opened := make(chan error, 1)
	go func() { _, err := Open(path); opened <- err }() // default 1s timeout: must give up, not hang
	var err error
	select {
	case err = <-opened:
	case <-time.After(time.Minute):
		t.Fatal("the second Open never gave up")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open err = %v, want ErrLocked", err)
	}
	for _, want := range []string{path, "locked by another process", "another turnout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, path, WithLockTimeout(100*time.Millisecond))
}

func TestLockedOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "turnout.db")
	holder := startHelper(t, "hold", path)
	_, err := Open(path, WithLockTimeout(200*time.Millisecond))
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open while another process holds the file: %v, want ErrLocked naming the file", err)
	}
	killHelper(t, holder) // kill -9 releases the lock
	mustOpen(t, path, WithLockTimeout(time.Second))
}

func TestUnusablePaths(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, path string
		want       []string
		is         error
	}{
		{"directory", dir, []string{dir, "is a directory"}, nil},
		{"missing directory", filepath.Join(dir, "nope", "turnout.db"), []string{filepath.Join(dir, "nope"), "no such file or directory"}, fs.ErrNotExist},
		{"parent is a file", filepath.Join(writeFile(t, "plain", []byte("x")), "turnout.db"), []string{"not a directory"}, nil},
		{"empty path", "", []string{"empty path"}, ErrInvalid},
	}
	for _, tc := range tests {
		_, err := Open(tc.path)
		if err == nil {
			t.Errorf("%s: Open(%q) succeeded", tc.name, tc.path)
			continue
		}
		for _, w := range append(tc.want, "state store") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: error %v is not %v", tc.name, err, tc.is)
		}
	}
}

// boltFile builds a file with bbolt directly, as another application would.
// validStore returns the bytes of a Turnout store with a few pages of data.
func BenchmarkAppend(b *testing.B) {
	s := mustOpen(b, filepath.Join(b.TempDir(), "turnout.db"))
	e := Event{Service: "users", Type: "weight_change", Actor: "engine", Message: "weight 10 -> 25",
		Fields: map[string]any{"from": 10, "to": 25}}
	for b.Loop() {
		if _, err := s.Append(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPutRollout(b *testing.B) {
	s := mustOpen(b, filepath.Join(b.TempDir(), "turnout.db"))
	r := sampleRollout("users")
	for i := 0; b.Loop(); i++ {
		r.Step = i % 5
		if err := s.PutRollout(r); err != nil {
			b.Fatal(err)
		}
	}
}

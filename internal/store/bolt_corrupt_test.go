package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func boltFile(t *testing.T, fn func(tx *bolt.Tx) error) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(p, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func validStore(t *testing.T) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "valid.db")
	s := mustOpen(t, p)
	for i := range 300 {
		if _, err := s.Append(Event{Type: "step", Message: strings.Repeat("m", 200), Fields: map[string]any{"i": i}}); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCorruptFiles(t *testing.T) {
	random := make([]byte, 64<<10)
	rng := rand.NewChaCha8([32]byte{7})
	_, _ = rng.Read(random)
	valid := validStore(t)
	noise := make([]byte, len(valid))
	_, _ = rng.Read(noise)
	tests := []struct {
		name string
		path string
		is   error
		want string
	}{
		{"random bytes", writeFile(t, "random.db", random), ErrCorrupt, "not a valid Turnout state store"},
		{"short garbage", writeFile(t, "garbage.db", []byte("hello, I am not a database\n")), ErrCorrupt, "not a valid Turnout state store"},
		{"yaml by mistake", writeFile(t, "turnout.yaml", []byte("listen: :8080\nstate: ./turnout.db\n")), ErrCorrupt, "not a valid Turnout state store"},
		{"zero-length file", writeFile(t, "empty.db", nil), ErrCorrupt, "the file is empty (0 bytes)"},
		{"truncated to 100 bytes", writeFile(t, "trunc0.db", valid[:100]), ErrCorrupt, "not a valid Turnout state store"},
		{"truncated to one page", writeFile(t, "trunc1.db", valid[:4096]), ErrCorrupt, "not a valid Turnout state store"},
		{"truncated mid-file", writeFile(t, "trunc2.db", valid[:len(valid)/3]), ErrCorrupt, "not a valid Turnout state store"},
		{"garbage data pages", writeFile(t, "pages.db", append(valid[:8192:8192], noise[8192:]...)), ErrCorrupt, "not a valid Turnout state store"},
		{"zeroed meta pages", writeFile(t, "zeroed.db", append(make([]byte, 8192), valid[8192:]...)), ErrCorrupt, "not a valid Turnout state store"},
		{"another application's bbolt file", boltFile(t, func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte("sessions"))
			if err != nil {
				return err
			}
			return b.Put([]byte("k"), []byte("v"))
		}), ErrCorrupt, `without Turnout metadata (it has bucket "sessions")`},
		{"meta without our app", boltFile(t, func(tx *bolt.Tx) error {
			_, err := tx.CreateBucket(bucketMeta)
			return err
		}), ErrCorrupt, "meta app"},
		{"undecodable rollout", boltFile(t, func(tx *bolt.Tx) error {
			if err := initLayout(tx, time.Now()); err != nil {
				return err
			}
			return tx.Bucket(bucketRollouts).Put([]byte("users"), []byte("{\"state\": 12"))
		}), ErrCorrupt, `rollout "users"`},
		{"event beyond the sequence", boltFile(t, func(tx *bolt.Tx) error {
			if err := initLayout(tx, time.Now()); err != nil {
				return err
			}
			return tx.Bucket(bucketEvents).Put(seqKey(9), packEvent("", []byte(`{"type":"step"}`)))
		}), ErrCorrupt, "event 9 is beyond the event sequence 0"},
		{"bad event key", boltFile(t, func(tx *bolt.Tx) error {
			if err := initLayout(tx, time.Now()); err != nil {
				return err
			}
			return tx.Bucket(bucketEvents).Put([]byte("x"), []byte("y"))
		}), ErrCorrupt, "event key of 1 bytes"},
		{"newer format", boltFile(t, func(tx *bolt.Tx) error {
			if err := initLayout(tx, time.Now()); err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Put(metaFormat, []byte("2"))
		}), ErrFormat, "format version 2, this turnout reads 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Open(tc.path, WithLockTimeout(100*time.Millisecond))
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open succeeded on %s", tc.name)
			}
			t.Log(err)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want %v naming %s and saying %q", err, tc.is, tc.path, tc.want)
			}
			if fresh := "mv " + tc.path + " " + tc.path + ".damaged"; errors.Is(err, ErrCorrupt) && !strings.Contains(err.Error(), fresh) {
				t.Fatalf("err = %v; want the command to start fresh, %q", err, fresh)
			}
			after, _ := os.ReadFile(tc.path)
			if !bytes.Equal(before, after) {
				t.Fatal("Open modified the file")
			}
			// A failed Open must not keep the file locked.
			db, err := bolt.Open(tc.path, 0o600, &bolt.Options{Timeout: 100 * time.Millisecond, ReadOnly: true})
			if errors.Is(err, bolt.ErrTimeout) {
				t.Fatal("file still locked after the failed Open")
			}
			if db != nil {
				_ = db.Close()
			}
		})
	}
}

func TestFreshFiles(t *testing.T) {
	for name, path := range map[string]string{
		"empty bbolt file": boltFile(t, func(*bolt.Tx) error { return nil }),
		"missing file":     filepath.Join(t.TempDir(), "new.db"),
	} {
		s, err := Open(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if e, err := s.Append(Event{Type: "config_reload"}); err != nil || e.Seq != 1 {
			t.Fatalf("%s: Append = %+v, %v", name, e, err)
		}
		_ = s.Close()
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 && name == "missing file" {
			t.Fatalf("%s: stat %v, %v; want mode 0600", name, fi.Mode(), err)
		}
	}
}

func TestCorruptRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "turnout.db")
	s := mustOpen(t, path)
	_ = s.PutRollout(sampleRollout("users"))
	_, _ = s.Append(Event{Type: "step"})
	db := s.(*boltStore).db
	_ = db.Update(func(tx *bolt.Tx) error {
		_ = tx.Bucket(bucketRollouts).Put([]byte("users"), []byte("{not json"))
		return tx.Bucket(bucketEvents).Put(seqKey(1), []byte{0xff})
	})
	if _, _, err := s.GetRollout("users"); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Errorf("GetRollout of a damaged record: %v, want ErrCorrupt naming the file", err)
	}
	if _, err := s.Rollouts(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Rollouts with a damaged record: %v, want ErrCorrupt", err)
	}
	if _, err := s.Events(EventQuery{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Events with a damaged record: %v, want ErrCorrupt", err)
	}
}

package store

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestGuardedFault checks the mechanism that protects Open and every call
// from a damaged mapping: a SIGBUS on a page past the end of the file
// becomes an ErrCorrupt error instead of killing the process.
func TestGuardedFault(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mapped")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(2 * 4096); err != nil {
		t.Fatal(err)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, 2*4096, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(data)
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	var b byte
	err = guarded(func() error { b = data[4096]; return nil })
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("fault on a truncated mapping: err %v (read %d), want ErrCorrupt", err, b)
	}
	if err := guarded(func() error { panic("boom") }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("panic: err %v, want ErrCorrupt", err)
	}
}

package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// createFile makes a new, formatted state store at path, which does not
// exist yet, so that no crash can leave a half-made file there: the
// database is written and synced under a temporary name in the same
// directory, then linked to path (which fails if another process created
// path meanwhile: its file is then used) and the directory synced. A
// 0-byte or unformatted file at path is therefore never Turnout's own, and
// Open refuses it as damage.
func createFile(path string, o options) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".new-*")
	if err != nil {
		return fmt.Errorf("open state store %s: creating it: %w", path, unwrapPath(err))
	}
	name := tmp.Name()
	_ = tmp.Close()
	defer os.Remove(name) // after the link, path keeps the file
	db, err := openDB(name, o, false)
	if err != nil {
		return err
	}
	err = guarded(func() error { return db.Update(func(tx *bolt.Tx) error { return initLayout(tx, o.clock()) }) })
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("open state store %s: creating it: %w", path, err)
	}
	switch err := os.Link(name, path); {
	case errors.Is(err, fs.ErrExist):
		return nil // another process made it first; Open verifies it
	case err != nil:
		// A file system without hard links: rename, which would replace
		// a file made meanwhile, so only while path is still missing.
		if _, serr := os.Lstat(path); !errors.Is(serr, fs.ErrNotExist) {
			return nil
		}
		if err := os.Rename(name, path); err != nil {
			return fmt.Errorf("open state store %s: creating it: %w", path, unwrapPath(err))
		}
	}
	return syncDir(dir)
}

// syncDir makes a new entry of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

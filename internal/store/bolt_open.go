package store

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openBolt(path string, o options) (Store, error) {
	if path == "" {
		return nil, fmt.Errorf("open state store: %w: empty path", ErrInvalid)
	}
	exists, err := checkPath(path)
	if err != nil {
		return nil, err
	}
	if !exists {
		if err := createFile(path, o); err != nil {
			return nil, err
		}
	}
	// Validate read-only first, so that a foreign or damaged file is never
	// written to (bbolt may commit on a read-write open, and it formats a
	// 0-byte file as a new database).
	if err := verifyPath(path, o); err != nil {
		return nil, err
	}
	db, err := openDB(path, o, false)
	if err != nil {
		return nil, err
	}
	err = guarded(func() error { return db.Update(func(tx *bolt.Tx) error { return initLayout(tx, o.clock()) }) })
	if err != nil {
		_ = db.Close()
		return nil, openErr(path, err)
	}
	return &boltStore{db: db, path: path, o: o}, nil
}

// verifyPath opens the existing file at path read-only and checks all of
// it (verifyFile). A 0-byte file is damage like any other: Turnout never
// leaves one (see createFile), so it is a file truncated or replaced
// after the fact, and formatting it would forget every rollout's state.
func verifyPath(path string, o options) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("open state store %s: %w", path, unwrapPath(err))
	}
	if fi.Size() == 0 {
		return openErr(path, fmt.Errorf("%w: the file is empty (0 bytes), truncated or replaced since Turnout wrote it", ErrCorrupt))
	}
	db, err := openDB(path, o, true)
	if err != nil {
		return err
	}
	err = guarded(func() error { return db.View(verifyFile) })
	_ = db.Close()
	if err != nil {
		return openErr(path, err)
	}
	return nil
}

// openErr wraps a failure to open path; damage (ErrCorrupt) says how to
// start fresh, since Turnout never does so on its own.
func openErr(path string, err error) error {
	if errors.Is(err, ErrCorrupt) {
		q := shellQuote(path)
		return fmt.Errorf("open state store %s: %w; the file was left untouched; to start with an empty state "+
			"(every rollout's state and event log forgotten), move it aside: mv %s %s, or point state: elsewhere",
			path, err, q, shellQuote(path+".damaged"))
	}
	return fmt.Errorf("open state store %s: %w", path, err)
}

// shellQuote quotes s for a POSIX shell when it holds anything but the
// characters of ordinary paths.
func shellQuote(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+,:@%=", r)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// checkPath turns the usual path mistakes into clear errors before bbolt
// sees them and reports whether the file exists.
func checkPath(path string) (bool, error) {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return false, fmt.Errorf("open state store %s: is a directory; state: must name a database file such as %s", path, filepath.Join(path, "turnout.db"))
	case err == nil && !fi.Mode().IsRegular():
		return false, fmt.Errorf("open state store %s: not a regular file (%s)", path, fi.Mode().Type())
	case err == nil:
		return true, nil
	case !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("open state store %s: %w", path, unwrapPath(err))
	}
	dir := filepath.Dir(path)
	di, derr := os.Stat(dir)
	switch {
	case derr != nil:
		return false, fmt.Errorf("open state store %s: directory %s: %w", path, dir, unwrapPath(derr))
	case !di.IsDir():
		return false, fmt.Errorf("open state store %s: %s is not a directory", path, dir)
	}
	return false, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// openDB runs bolt.Open, classifying its failures: the OS refusing the file,
// the lock timing out (ErrLocked), or anything about the contents, including
// bbolt panics and faults on a truncated mapping (ErrCorrupt).
func openDB(path string, o options, readOnly bool) (db *bolt.DB, err error) {
	var file *os.File
	var fileErr error
	bo := &bolt.Options{
		Timeout:  o.lockTimeout,
		ReadOnly: readOnly,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			file, fileErr = os.OpenFile(name, flag, perm)
			return file, fileErr
		},
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if file != nil {
				_ = file.Close() // releases the flock; the mapping is abandoned
			}
			db, err = nil, openErr(path, fmt.Errorf("%w (bbolt: %v)", ErrCorrupt, r))
		}
	}()
	db, err = bolt.Open(path, 0o600, bo)
	switch {
	case err == nil:
		return db, nil
	case fileErr != nil:
		return nil, fmt.Errorf("open state store %s: %w", path, unwrapPath(fileErr))
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("open state store %s: %w (another turnout using the same state: file?); gave up after %s", path, ErrLocked, o.lockTimeout)
	}
	return nil, openErr(path, fmt.Errorf("%w: %w", ErrCorrupt, err))
}

// checkLayout reports whether tx is a fresh, empty bbolt database (true) or
// a Turnout store of our format (false), and fails for anything else.
func checkLayout(tx *bolt.Tx) (fresh bool, err error) {
	if err := checkSize(tx); err != nil {
		return false, err
	}
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		var foreign []byte
		_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			foreign = bytes.Clone(name)
			return errStop
		})
		if foreign != nil {
			return false, fmt.Errorf("%w: a bbolt database without Turnout metadata (it has bucket %q)", ErrCorrupt, foreign)
		}
		return true, nil
	}
	if app := meta.Get(metaApp); !bytes.Equal(app, appName) {
		return false, fmt.Errorf("%w: meta app is %q, want %q", ErrCorrupt, app, appName)
	}
	v, err := strconv.Atoi(string(meta.Get(metaFormat)))
	if err != nil {
		return false, fmt.Errorf("%w: bad format version %q", ErrCorrupt, meta.Get(metaFormat))
	}
	if v != FormatVersion {
		return false, fmt.Errorf("%w: format version %d, this turnout reads %d", ErrFormat, v, FormatVersion)
	}
	for _, name := range [][]byte{bucketRollouts, bucketEvents, bucketBlobs} {
		if tx.Bucket(name) == nil {
			return false, fmt.Errorf("%w: bucket %q is missing", ErrCorrupt, name)
		}
	}
	return false, nil
}

// checkSize catches a truncated file: bbolt only reads a page when it is
// used, so a file shorter than its own high-water mark would otherwise open.
func checkSize(tx *bolt.Tx) error {
	fi, err := os.Stat(tx.DB().Path())
	if err != nil {
		return err
	}
	if fi.Size() < tx.Size() {
		return fmt.Errorf("%w: file is %d bytes but its pages reach %d bytes (truncated?)", ErrCorrupt, fi.Size(), tx.Size())
	}
	return nil
}

var errStop = errors.New("stop")

// verifyFile checks the layout and reads every record once, so that damage
// anywhere in the file is found by Open (ErrCorrupt) rather than in the
// middle of a rollout. It runs on the caller's goroutine, under guarded.
func verifyFile(tx *bolt.Tx) error {
	fresh, err := checkLayout(tx)
	if err != nil || fresh {
		return err
	}
	err = tx.Bucket(bucketRollouts).ForEach(func(k, v []byte) error {
		if v == nil {
			return fmt.Errorf("%w: rollouts: unexpected bucket %q", ErrCorrupt, k)
		}
		_, err := decodeRollout(string(k), v)
		return err
	})
	if err != nil {
		return err
	}
	events := tx.Bucket(bucketEvents)
	var last uint64
	err = events.ForEach(func(k, v []byte) error {
		seq, err := keySeq(k)
		if err == nil && v == nil {
			err = fmt.Errorf("%w: events: unexpected bucket %q", ErrCorrupt, k)
		}
		if err == nil {
			_, _, err = unpackEvent(seq, v)
		}
		last = seq
		return err
	})
	if err != nil {
		return err
	}
	if last > events.Sequence() {
		return fmt.Errorf("%w: event %d is beyond the event sequence %d", ErrCorrupt, last, events.Sequence())
	}
	blobs := tx.Bucket(bucketBlobs)
	return blobs.ForEach(func(name, v []byte) error {
		if v != nil {
			return fmt.Errorf("%w: blobs: unexpected record %q", ErrCorrupt, name)
		}
		return blobs.Bucket(name).ForEach(func(k, v []byte) error {
			if v == nil {
				return fmt.Errorf("%w: blobs %s: unexpected bucket %q", ErrCorrupt, name, k)
			}
			return nil
		})
	})
}

func initLayout(tx *bolt.Tx, now time.Time) error {
	fresh, err := checkLayout(tx)
	if err != nil || !fresh {
		return err
	}
	meta, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return err
	}
	for k, v := range map[string]string{
		string(metaApp):     string(appName),
		string(metaFormat):  strconv.Itoa(FormatVersion),
		string(metaCreated): now.UTC().Format(time.RFC3339Nano),
	} {
		if err := meta.Put([]byte(k), []byte(v)); err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bucketRollouts, bucketEvents, bucketBlobs} {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	return nil
}

// guarded runs fn, turning a panic or a fault on the mapped file (a
// truncated or damaged database) into an ErrCorrupt error.
func guarded(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w (bbolt: %v)", ErrCorrupt, r)
		}
	}()
	return fn()
}

package filevalue

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// CheckInterval is how often, at most, the files behind a Value are
// stat'ed for changes.
const CheckInterval = time.Second

// fileStamp is what tells a changed file from the one loaded: a rewrite
// changes the modification time or size, an atomic rename (or a Kubernetes
// secret's symlink swap) the inode.
type fileStamp struct {
	mod   time.Time
	size  int64
	inode uint64
}

func stampOf(path string) (fileStamp, error) {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	s := fileStamp{mod: st.ModTime(), size: st.Size()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		s.inode = sys.Ino
	}
	return s, nil
}

// Value is a value of type T loaded from a set of files and loaded again
// when they change. Get is safe for concurrent use: readers take the
// current value from an atomic pointer; one caller at a time stats the
// files, at most once per CheckInterval.
type Value[T any] struct {
	paths []string
	load  func() (*T, error)
	now   func() time.Time
	log   *slog.Logger
	what  string // for errors and log lines: "tls", "admin.tokens_file"

	cur       atomic.Pointer[T]
	nextCheck atomic.Int64 // unix nanoseconds
	mu        sync.Mutex   // one check at a time
	stamps    []fileStamp
}

// New loads the value once with load (an error here is the caller's
// error); Get loads it again when one of paths changed. now paces the
// checks (nil: time.Now); failed reloads are logged to log (nil:
// slog.Default()) and keep the last good value.
func New[T any](what string, paths []string, load func() (*T, error), now func() time.Time, log *slog.Logger) (*Value[T], error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	w := &Value[T]{paths: paths, load: load, now: now, log: log, what: what}
	stamps, err := w.stat()
	if err != nil {
		return nil, err
	}
	v, err := load()
	if err != nil {
		return nil, err
	}
	w.stamps = stamps
	w.cur.Store(v)
	w.nextCheck.Store(now().Add(CheckInterval).UnixNano())
	return w, nil
}

func (w *Value[T]) stat() ([]fileStamp, error) {
	out := make([]fileStamp, len(w.paths))
	for i, p := range w.paths {
		s, err := stampOf(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.what, err)
		}
		out[i] = s
	}
	return out, nil
}

// Get returns the current value, first reloading it when its files changed
// (looked at no more than once per CheckInterval).
func (w *Value[T]) Get() *T {
	now := w.now()
	if now.UnixNano() >= w.nextCheck.Load() && w.mu.TryLock() {
		w.check(now)
		w.mu.Unlock()
	}
	return w.cur.Load()
}

// check reloads when a file changed; w.mu is held.
func (w *Value[T]) check(now time.Time) {
	w.nextCheck.Store(now.Add(CheckInterval).UnixNano())
	stamps, err := w.stat()
	if err != nil {
		w.log.Warn("cannot stat; keeping the loaded value", "what", w.what, "error", err)
		return
	}
	if sameStamps(stamps, w.stamps) {
		return
	}
	v, err := w.load()
	if err != nil {
		// A half-written set (new cert, old key): try again next interval.
		w.log.Warn("reload failed; keeping the last good value", "what", w.what, "error", err)
		return
	}
	w.stamps = stamps
	w.cur.Store(v)
	w.log.Info("reloaded", "what", w.what, "files", w.paths)
}

func sameStamps(a, b []fileStamp) bool {
	for i := range a {
		if !a[i].mod.Equal(b[i].mod) || a[i].size != b[i].size || a[i].inode != b[i].inode {
			return false
		}
	}
	return len(a) == len(b)
}

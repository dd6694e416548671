package gateway

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch reloads the configuration when its file changes (debounced, so an
// editor's write-rename-chmod burst is one reload) and on SIGHUP, until ctx
// ends. The directory is watched, not the file, so atomic renames by editors
// and config-management tools are seen.
func (g *Gateway) Watch(ctx context.Context, debounce time.Duration) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(g.path)
	if err != nil {
		_ = w.Close()
		return err
	}
	if err := w.Add(filepath.Dir(abs)); err != nil {
		_ = w.Close()
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer w.Close()
		defer signal.Stop(hup)
		var timer *time.Timer
		var fire <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = g.Reload("sighup")
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Clean(ev.Name) != abs || ev.Op == fsnotify.Chmod {
					continue
				}
				if timer == nil {
					timer = time.NewTimer(debounce)
				} else {
					timer.Reset(debounce)
				}
				fire = timer.C
			case <-fire:
				fire = nil
				if _, err := os.Stat(abs); err != nil {
					continue // mid-rename; the create event follows
				}
				_ = g.Reload("file")
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				g.log.Warn("configuration watcher", "error", err)
			}
		}
	}()
	return nil
}

package core

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/turnout-gw/turnout/internal/config"
)

// Watch reloads the configuration when its file or one of the OpenAPI
// documents it names changes (debounced, so an editor's
// write-rename-chmod burst is one reload) and on SIGHUP, until ctx ends.
// Directories are watched, not files, so atomic renames by editors and
// config-management tools are seen; the set follows each reload.
func (g *Configs) Watch(ctx context.Context, debounce time.Duration) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(g.path)
	if err != nil {
		_ = w.Close()
		return err
	}
	files, dirs := map[string]bool{}, map[string]bool{}
	follow := func() error {
		files = watchedFiles(abs, g.cfg.Load())
		for f := range files {
			d := filepath.Dir(f)
			if dirs[d] {
				continue
			}
			if err := w.Add(d); err != nil {
				return err
			}
			dirs[d] = true
		}
		return nil
	}
	if err := follow(); err != nil {
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
		reload := func(source string) {
			_ = g.Reload(source)
			if err := follow(); err != nil {
				g.log.Warn("configuration watcher: watching the OpenAPI documents", "error", err)
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reload("sighup")
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if !files[filepath.Clean(ev.Name)] || ev.Op == fsnotify.Chmod {
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
				reload("file")
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

// watchedFiles is the configuration file and every OpenAPI document cfg
// names, as absolute paths.
func watchedFiles(cfgPath string, cfg *config.Config) map[string]bool {
	files := map[string]bool{cfgPath: true}
	if cfg == nil {
		return files
	}
	for _, name := range cfg.ServiceNames() {
		for _, v := range cfg.Services[name].Versions {
			if v == nil || v.OpenAPI == "" {
				continue
			}
			if p, err := filepath.Abs(ContractPath(cfg, v.OpenAPI)); err == nil {
				files[filepath.Clean(p)] = true
			}
		}
	}
	return files
}

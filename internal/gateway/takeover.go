package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/reuseport"
)

// takeover is one `turnout serve --takeover` (AppOptions.Takeover): the
// Turnouts that held the configuration's addresses when Start began. While
// Start runs, every listener binds beside them (reuseport.ListenBeside);
// handover then tells them to drain (SIGTERM) as soon as this process no
// longer needs them running: right before it waits for the state file one
// of them holds, else once it serves. Listeners bound later (a reload's new
// QN service) are exclusive again. A nil *takeover is an ordinary start:
// its methods then bind exclusively and do nothing else. Its methods are
// safe for concurrent use.
type takeover struct {
	log    *slog.Logger
	pids   []int
	beside atomic.Bool
	once   sync.Once
}

// planTakeover finds the Turnouts holding cfg's addresses (data plane, TLS,
// admin, xDS, QN; port 0 is nobody's). An address held by another program
// is an *reuseport.InUseError: --takeover replaces only a Turnout. Nobody
// holding them is no error (the start is then an ordinary one, logged).
func planTakeover(cfg *config.Config, log *slog.Logger) (*takeover, error) {
	t := &takeover{log: log}
	t.beside.Store(true)
	for _, addr := range listenAddrs(cfg) {
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "0" {
			continue
		}
		hs, err := reuseport.Holders(addr)
		if err != nil {
			return nil, fmt.Errorf("takeover: looking for the holder of %s: %w", addr, err)
		}
		for _, h := range hs {
			if !h.Turnout {
				return nil, fmt.Errorf("takeover %s: %w; --takeover replaces only a turnout", addr,
					&reuseport.InUseError{Addr: addr, Holder: h, Err: syscall.EADDRINUSE})
			}
			if h.PID != os.Getpid() && !slices.Contains(t.pids, h.PID) {
				t.pids = append(t.pids, h.PID)
			}
		}
	}
	if len(t.pids) == 0 {
		log.Info("takeover: no turnout holds these addresses; starting as usual")
	} else {
		log.Info("takeover: binding beside the running turnout", "pids", t.pids)
	}
	return t, nil
}

// listenAddrs lists every address cfg listens on.
func listenAddrs(cfg *config.Config) []string {
	addrs := []string{cfg.Listen, cfg.Admin.Listen}
	if cfg.TLS != nil {
		addrs = append(addrs, cfg.TLS.Listen)
	}
	if cfg.XDS != nil {
		addrs = append(addrs, cfg.XDS.Listen)
	}
	for _, name := range cfg.ServiceNames() {
		if s := cfg.Services[name]; s.IsQN() {
			addrs = append(addrs, s.Listen)
		}
	}
	return slices.DeleteFunc(addrs, func(a string) bool { return a == "" })
}

// listen binds addr beside the old Turnout while the takeover runs, else
// exclusively.
func (t *takeover) listen(addr string) (net.Listener, error) {
	if t != nil && t.beside.Load() {
		return reuseport.ListenBeside(addr)
	}
	return reuseport.Listen(addr)
}

// handover sends SIGTERM to the old Turnouts, once; a process already gone
// is no error.
func (t *takeover) handover() {
	if t == nil {
		return
	}
	t.once.Do(func() {
		for _, pid := range t.pids {
			err := signalTerm(pid)
			if err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.log.Error("takeover: signalling the old turnout", "pid", pid, "error", err)
				continue
			}
			t.log.Info("takeover: told the old turnout to drain (SIGTERM)", "pid", pid)
		}
	})
}

// finish ends the takeover once Start has bound everything and handed
// over: later listeners are exclusive.
func (t *takeover) finish() {
	if t != nil {
		t.handover()
		t.beside.Store(false)
	}
}

// signalTerm sends SIGTERM to pid (os.ErrProcessDone when it is gone).
func signalTerm(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(syscall.SIGTERM)
}

//go:build !linux

package h1server

import (
	"errors"
	"time"
)

// poller is Linux's; elsewhere a parked connection keeps a goroutine.
type poller struct{}

func newPoller() (*poller, error) { return nil, errors.ErrUnsupported }

func (p *poller) add(*conn, time.Time) bool { return false }
func (p *poller) take(*conn) bool           { return false }
func (p *poller) close()                    {}

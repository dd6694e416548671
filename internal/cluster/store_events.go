package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/turnout-gw/turnout/internal/store"
)

// Append appends one event that changes no state (a reload, a rejected
// configuration) to the fleet's log, and to this member's local log. When
// the backend does not answer, or earlier events still wait for it, the
// event is queued (bounded, in order) and appended once it answers: a
// reload never waits for an unreachable etcd beyond the first append that
// finds it so. A queued event is returned without its sequence number,
// which the backend assigns when it appends it.
func (s *Store) Append(e store.Event) (store.Event, error) {
	if e.At.IsZero() {
		e.At = time.Now().UTC() // the queue recognises a made append by it
	}
	e = s.stamp([]store.Event{e})[0]
	if _, err := s.local.Append(e); err != nil {
		s.log.Warn("cluster: caching event", "type", e.Type, "err", err)
	}
	if s.queue.idle() && !errors.Is(s.b.Alive(), ErrUnavailable) {
		out, err := s.b.AppendEvents(context.Background(), e)
		if err == nil {
			return out[0], nil
		}
		if !errors.Is(err, ErrUnavailable) {
			return store.Event{}, fmt.Errorf("%w: %w", store.ErrNotWritten, err)
		}
		s.queue.push(true, e)
		return e, nil
	}
	s.queue.push(false, e)
	return e, nil
}

// Queued returns how many events wait for the backend.
func (s *Store) Queued() int { return s.queue.Len() }

// Events reads the fleet's log, or this member's local log when the
// backend does not answer (EventsFrom says which).
func (s *Store) Events(q store.EventQuery) ([]store.Event, error) {
	evs, _, err := s.EventsFrom(q)
	return evs, err
}

// EventsFrom reads the fleet's log; when the backend does not answer, it
// reads this member's local log (the events it recorded, numbered
// locally) and reports local.
func (s *Store) EventsFrom(q store.EventQuery) (evs []store.Event, local bool, err error) {
	evs, err = s.b.Events(context.Background(), q)
	if err == nil || !errors.Is(err, ErrUnavailable) {
		return evs, false, err
	}
	evs, lerr := s.local.Events(q)
	if lerr != nil {
		return nil, false, errors.Join(err, lerr)
	}
	return evs, true, nil
}

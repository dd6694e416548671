package lifecycle

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/store"
)

// maxStepsPerTick bounds the steps one version goes through in one tick
// (a restart long after several dates applies them in order).
const maxStepsPerTick = 64

// change is what a tick or a force did to one version, to be written and
// told after the lock is released.
type change struct {
	events []store.Event
	urls   []string
	apply  bool
}

// Tick first follows the steps applied elsewhere (another member of a
// fleet wrote them to the shared store), publishing when they changed;
// then, unless another member leads (WithLeading), it applies every due
// step that no guard holds, in order, and records each new hold once.
func (s *Scheduler) Tick() {
	fresh, err := load(s.st)
	if err != nil {
		s.log.Warn("lifecycle: reading the applied steps", "error", err)
	}
	s.mu.Lock()
	var ch change
	ch.apply = s.follow(fresh)
	lead := s.leading == nil || s.leading()
	if !lead {
		clear(s.held) // the leader holds; this member would only repeat it
		s.mu.Unlock()
		s.finish(ch)
		return
	}
	asks := s.guardAsks()
	s.mu.Unlock()
	// The guard's usage is read without the lock: a fleet's takes a pull
	// from every member (up to a second), which must not hold up Status,
	// Effective or a reload.
	known := s.readUsage(asks)
	s.mu.Lock()
	s.known = known
	for _, sv := range s.scheduled {
		s.advance(sv.sc, sv.name, sv.v, &ch)
	}
	s.known = nil
	s.mu.Unlock()
	s.finish(ch)
}

// usageAsk is a guard's question: a version's usage over a window.
type usageAsk struct {
	service, version string
	window           time.Duration
}

// usageAnswer is what the guard's Usage answered.
type usageAnswer struct {
	requests uint64
	clients  []string
	err      error
}

// guardAsks lists the usage a tick's guards will read: that of each
// version with hold_while whose next step is due; s.mu is held.
func (s *Scheduler) guardAsks() []usageAsk {
	if s.usage == nil {
		return nil
	}
	now := s.now()
	var out []usageAsk
	for _, sv := range s.scheduled {
		if sv.v.HoldWhile == nil {
			continue
		}
		a, ok := s.applied[recordKey(sv.sc.Name, sv.name)]
		if i := position(sv.v, a, ok); i < len(sv.v.Schedule) && !sv.v.DueAt(i).After(now) {
			out = append(out, usageAsk{service: sv.sc.Name, version: sv.name, window: sv.v.HoldWhile.Window.D()})
		}
	}
	return out
}

// readUsage answers asks from the Usage, in parallel, without the lock.
func (s *Scheduler) readUsage(asks []usageAsk) map[usageAsk]usageAnswer {
	if len(asks) == 0 {
		return nil
	}
	answers := make([]usageAnswer, len(asks))
	var wg sync.WaitGroup
	for i, q := range asks {
		wg.Go(func() { answers[i] = s.recent(q) })
	}
	wg.Wait()
	out := make(map[usageAsk]usageAnswer, len(asks))
	for i, q := range asks {
		out[q] = answers[i]
	}
	return out
}

// recent reads one version's usage: the fleet's when the Usage is a
// FleetUsage.
func (s *Scheduler) recent(q usageAsk) usageAnswer {
	if fu, ok := s.usage.(FleetUsage); ok {
		n, clients, err := fu.RecentFleet(q.service, q.version, q.window)
		return usageAnswer{requests: n, clients: clients, err: err}
	}
	n, clients := s.usage.Recent(q.service, q.version, q.window)
	return usageAnswer{requests: n, clients: clients}
}

// follow takes the records of fresh that are newer than this Scheduler's
// and reports whether any was; s.mu is held. A record older than the one
// held here is one this member wrote after fresh was read.
func (s *Scheduler) follow(fresh map[string]Applied) bool {
	changed := false
	for k, a := range fresh {
		cur, ok := s.applied[k]
		if ok && (!a.AppliedAt.After(cur.AppliedAt) || a == cur) {
			continue
		}
		s.applied[k] = a
		changed = true
	}
	return changed
}

// advance applies v's due steps until one is held or none is due; s.mu
// is held.
func (s *Scheduler) advance(sc *config.Service, name string, v *config.Version, ch *change) {
	key := recordKey(sc.Name, name)
	now := s.now()
	for range maxStepsPerTick {
		a, ok := s.applied[key]
		i := position(v, a, ok)
		if i >= len(v.Schedule) || v.DueAt(i).After(now) {
			delete(s.held, key)
			return
		}
		st := v.Schedule[i]
		if reason := s.holdReason(sc.Name, name, v, st); reason != "" {
			h, was := s.held[key]
			if !was || h.step != i {
				h = hold{step: i, since: now}
				ch.events = append(ch.events, store.Event{At: now, Service: sc.Name, Type: EventHeld, Actor: ActorSchedule,
					Message: fmt.Sprintf("%s %s: step to %s due %s %s", sc.Name, name, st.Lifecycle, stamp(st.At.Time), reason),
					Fields:  map[string]any{"version": name, "to": st.Lifecycle, "at": stamp(st.At.Time), "reason": reason}})
				ch.urls = notifyURLs(sc)
			}
			h.reason = reason
			s.held[key] = h
			return
		}
		if !s.applyStep(sc, name, v, i, ActorSchedule, "", ch) {
			return
		}
	}
}

// applyStep applies step i of v and records it; s.mu is held. It reports
// false when the step could not be persisted (the tick tries again).
func (s *Scheduler) applyStep(sc *config.Service, name string, v *config.Version, i int, actor, note string, ch *change) bool {
	key := recordKey(sc.Name, name)
	now := s.now()
	st := v.Schedule[i]
	from := v.Lifecycle
	if prev, ok := s.applied[key]; ok {
		if n := position(v, prev, ok); n > 0 {
			from = v.Schedule[n-1].Lifecycle
		}
	}
	a := Applied{At: st.At.Time, Lifecycle: st.Lifecycle, AppliedAt: now, Actor: actor}
	if err := save(s.st, sc.Name, name, a); err != nil {
		s.log.Warn("lifecycle: applying a step", "service", sc.Name, "version", name, "error", err)
		return false
	}
	s.applied[key] = a
	delete(s.held, key)
	msg := fmt.Sprintf("%s %s: lifecycle %s -> %s (step due %s, by %s)", sc.Name, name, from, st.Lifecycle, stamp(st.At.Time), actor)
	if note != "" {
		msg += "; " + note
	}
	ch.events = append(ch.events, store.Event{At: now, Service: sc.Name, Type: EventChanged, Actor: actor, Message: msg,
		Fields: map[string]any{"version": name, "from": from, "to": st.Lifecycle, "at": stamp(st.At.Time), "actor": actor}})
	ch.urls, ch.apply = notifyURLs(sc), true
	return true
}

// finish writes the events, publishes the effective lifecycles and
// notifies, without the lock.
func (s *Scheduler) finish(ch change) {
	if ch.apply {
		s.publish()
	}
	for _, ev := range ch.events {
		stored, err := s.st.Append(ev)
		if err != nil {
			s.log.Warn("lifecycle: recording an event", "type", ev.Type, "error", err)
			stored = ev
		}
		if s.notify != nil && len(ch.urls) > 0 {
			s.notify(ch.urls, stored)
		}
	}
}

// holdReason returns why step st of v is held now, "" when it is not: a
// step that stops serving the version (redirect, gone) waits while the
// version saw at least hold_while.requests requests in the window.
func (s *Scheduler) holdReason(svc, name string, v *config.Version, st *config.ScheduleStep) string {
	h := v.HoldWhile
	if h == nil || !config.Holds(st.Lifecycle) {
		return ""
	}
	if s.usage == nil {
		return fmt.Sprintf("held: no usage is known to tell whether %s is still called (hold_while needs the usage tracker); force it with `turnout lifecycle %s %s --force`", name, svc, name)
	}
	q := usageAsk{service: svc, version: name, window: h.Window.D()}
	u, ok := s.known[q]
	if !ok {
		u = s.recent(q) // a step Tick did not expect due: read it now
	}
	if u.err != nil {
		return fmt.Sprintf("held: the usage of %s is not known from the whole fleet: %v", name, u.err)
	}
	n, clients := u.requests, u.clients
	if n < uint64(h.Requests) {
		return ""
	}
	if len(clients) > MaxClients {
		clients = clients[:MaxClients]
	}
	by := ""
	if len(clients) > 0 {
		by = " by " + strings.Join(clients, ", ")
	}
	return fmt.Sprintf("held: %s still called: %d requests in the last %s%s", name, n, window(h.Window.D()), by)
}

// notifyURLs are the URLs a service's events are sent to: its rollout's.
func notifyURLs(sc *config.Service) []string {
	if sc.Rollout == nil {
		return nil
	}
	return sc.Rollout.Notify
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// window formats a duration the way it is usually written: 10m, not 10m0s.
func window(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Usage is what a schedule's guard (hold_while) reads: how many requests
// a version served in the last window and the names of up to MaxClients
// clients seen in it. An implementation is safe for concurrent use and
// answers quickly (the scheduler calls it on every tick for each version
// whose due step is guarded). internal/usage's Tracker has this method.
type Usage interface {
	Recent(service, version string, window time.Duration) (requests uint64, clients []string)
}

// FleetUsage is a Usage summed over a fleet's members, which may not
// know: RecentFleet fails when some member did not answer (naming it),
// and the guard then holds the step rather than release it on partial
// data. The Scheduler prefers it to Recent when the Usage has it.
type FleetUsage interface {
	Usage
	RecentFleet(service, version string, window time.Duration) (requests uint64, clients []string, err error)
}

// MaxClients is how many client names a hold reason lists.
const MaxClients = 10

// UsageFunc adapts a function to Usage.
type UsageFunc func(service, version string, window time.Duration) (uint64, []string)

// Recent calls f.
func (f UsageFunc) Recent(service, version string, window time.Duration) (uint64, []string) {
	return f(service, version, window)
}

// noUsage is the Usage of a scheduler given none: it knows nothing, so a
// guarded step is held (see holdReason) until a person forces it.
type noUsage struct{}

func (noUsage) Recent(string, string, time.Duration) (uint64, []string) { return 0, nil }

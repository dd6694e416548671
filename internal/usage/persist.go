package usage

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/turnout-gw/turnout/internal/store"
)

// Bucket is the store bucket of the usage counts (key: the service name).
const Bucket = "usage"

// persisted is the stored form of one service's counts.
type persisted struct {
	Versions map[string]*persistedVersion `json:"versions"`
}

type persistedVersion struct {
	Requests uint64   `json:"requests"`
	Clients  []Client `json:"clients"`
	Minutes  []minute `json:"minutes,omitempty"`
}

// minute is one non-empty bucket of the last day.
type minute struct {
	M int64  `json:"m"` // unix minutes
	N uint64 `json:"n"`
}

// load reads a service's stored counts; a state that cannot be read
// starts afresh (logged).
func (t *Tracker) load(name string) *state {
	st := &state{}
	if t.o.Store == nil {
		return st
	}
	b, ok, err := t.o.Store.GetBlob(Bucket, name)
	if err != nil || !ok {
		if err != nil {
			t.o.Log.Warn("usage: reading stored counts; starting afresh", "service", name, "error", err)
		}
		return st
	}
	var p persisted
	if err := json.Unmarshal(b, &p); err != nil {
		t.o.Log.Warn("usage: stored counts unreadable; starting afresh", "service", name, "error", err)
		return st
	}
	for vn, pv := range p.Versions {
		if pv == nil {
			continue
		}
		v := &version{name: vn, requests: pv.Requests}
		for _, c := range pv.Clients {
			ops := make([]opCount, 0, len(c.Operations))
			for _, op := range c.Operations {
				ops = append(ops, opCount{op.Operation, op.Requests})
			}
			cl := &client{name: c.Client, requests: c.Requests, first: c.FirstSeen.UnixNano(), last: c.LastSeen.UnixNano(),
				ops: ops, otherOps: c.OtherOperations}
			for i, n := range c.Hourly {
				if n > 0 {
					cl.hours.set(c.HourlyFrom.Unix()/3600+int64(i), uint32(min(n, math.MaxUint32)), Hours)
				}
			}
			if v.client([]byte(c.Client)) != nil {
				continue // a record lists each client once
			}
			v.add(cl)
			if c.Client != OtherClient {
				v.told++
			}
		}
		slices.SortFunc(pv.Minutes, func(a, b minute) int { return cmp.Compare(a.M, b.M) })
		for _, m := range pv.Minutes {
			if k := len(v.minutes); m.N > 0 && (k == 0 || int64(v.minutes[k-1].at) < m.M) {
				v.minutes.set(m.M, uint32(min(m.N, math.MaxUint32)), RingMinutes)
			}
		}
		st.versions = append(st.versions, v)
	}
	return st
}

// snapshot returns the stored form of the counts and clears dirty; ok is
// false when nothing changed since the last snapshot.
func (st *state) snapshot(now time.Time) (p persisted, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.dirty {
		return p, false
	}
	st.dirty = false
	p.Versions = make(map[string]*persistedVersion, len(st.versions))
	for _, v := range st.versions {
		pv := &persistedVersion{Requests: v.requests, Clients: v.list(now)}
		for i := range pv.Clients {
			trimHours(&pv.Clients[i])
		}
		for _, b := range v.minutes {
			pv.Minutes = append(pv.Minutes, minute{int64(b.at), uint64(b.n)})
		}
		p.Versions[v.name] = pv
	}
	return p, true
}

// trimHours drops the hours before a client's first request of the day
// from its stored form (HourlyFrom moves with them), so that a client seen
// in one hour stores one number.
func trimHours(c *Client) {
	i := 0
	for i < len(c.Hourly) && c.Hourly[i] == 0 {
		i++
	}
	c.Hourly, c.HourlyFrom = c.Hourly[i:], c.HourlyFrom.Add(time.Duration(i)*time.Hour)
}

// flush writes a service's counts when they changed. A record too large
// for the store first loses the clients' operations, then its least
// calling clients (their requests move to OtherClient) until it fits.
func (t *Tracker) flush(s *service) {
	if t.o.Store == nil {
		return
	}
	p, ok := s.st.snapshot(t.o.Now())
	if !ok {
		return
	}
	b, err := json.Marshal(p)
	for trim := 0; err == nil && len(b) > store.MaxBlobSize && trim < 64; trim++ {
		shrink(&p, trim)
		b, err = json.Marshal(p)
	}
	if err == nil {
		err = t.o.Store.PutBlob(Bucket, s.name, b)
	}
	if err != nil {
		s.st.mu.Lock()
		s.st.dirty = true // try again at the next flush
		s.st.mu.Unlock()
		t.o.Log.Warn("usage: storing counts", "service", s.name, "error", err)
	}
}

// shrink makes p smaller: the first time by dropping operations, then by
// folding the less calling half of each version's clients into
// OtherClient.
func shrink(p *persisted, trim int) {
	for _, pv := range p.Versions {
		if trim == 0 {
			for i := range pv.Clients {
				c := &pv.Clients[i]
				for _, op := range c.Operations {
					c.OtherOperations += op.Requests
				}
				c.Operations = nil
			}
			continue
		}
		keep := len(pv.Clients) / 2
		if keep == 0 {
			continue
		}
		other := Client{Client: OtherClient}
		var rest []Client
		for _, c := range pv.Clients {
			if c.Client == OtherClient || len(rest) >= keep {
				other.Requests += c.Requests
				other.OtherOperations += c.Requests
				if other.FirstSeen.IsZero() || c.FirstSeen.Before(other.FirstSeen) {
					other.FirstSeen = c.FirstSeen
				}
				if c.LastSeen.After(other.LastSeen) {
					other.LastSeen = c.LastSeen
				}
				if other.Hourly == nil {
					other.Hourly, other.HourlyFrom = make([]uint64, len(c.Hourly)), c.HourlyFrom
				}
				for i := range min(len(c.Hourly), len(other.Hourly)) {
					other.Hourly[i] += c.Hourly[i]
				}
				continue
			}
			rest = append(rest, c)
		}
		pv.Clients = append(rest, other)
	}
}

// Flush writes every service's changed counts to the store. The flush
// loop runs it every Options.FlushEvery; Close runs it once more.
func (t *Tracker) Flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range *t.services.Load() {
		t.flush(s)
	}
}

// Close stops the flush loop and writes what changed; call it before the
// store closes. Record may still be called (its counts are then not
// written). Close is idempotent.
func (t *Tracker) Close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	close(t.stop)
	t.mu.Unlock()
	<-t.done
	t.Flush()
}

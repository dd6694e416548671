package mirror

import "time"

// window counts comparisons per second over a ring of one-second slots,
// for the diff rate over an analysis window. It is guarded by its results'
// lock.
type window struct {
	slots []slot
}

type slot struct {
	sec            int64 // Unix second the counts belong to
	compared, diff uint32
}

// windowSlots sizes a ring for a window: at least a minute, at most an hour.
func windowSlots(d time.Duration) int {
	n := int((d+time.Second-1)/time.Second) + 2
	return min(max(n, 60), 3600)
}

func newWindow(d time.Duration) window {
	return window{slots: make([]slot, windowSlots(d))}
}

// resize keeps the counts of the seconds that fit a ring sized for d.
func (w *window) resize(d time.Duration) {
	n := windowSlots(d)
	if n == len(w.slots) {
		return
	}
	next := make([]slot, n)
	for _, s := range w.slots {
		if s.sec == 0 {
			continue
		}
		i := mod(s.sec, n)
		if s.sec > next[i].sec {
			next[i] = s
		}
	}
	w.slots = next
}

// add counts one comparison at now.
func (w *window) add(now time.Time, diff bool) {
	sec := now.Unix()
	s := &w.slots[mod(sec, len(w.slots))]
	if s.sec != sec {
		*s = slot{sec: sec}
	}
	s.compared++
	if diff {
		s.diff++
	}
}

// sum adds the counts of the whole seconds in [now-d, now], and not before
// since when it is set — the same bounds as the stats package's windows.
func (w *window) sum(now time.Time, d time.Duration, since time.Time) (compared, diff int64) {
	if d <= 0 {
		return 0, 0
	}
	lo := now.Add(-d)
	if !since.IsZero() && since.After(lo) {
		lo = since
	}
	from := lo.Unix()
	if lo.Nanosecond() > 0 {
		from++ // whole seconds only: Unix rounds down
	}
	to := now.Unix()
	if n := int64(len(w.slots)); to-from >= n {
		from = to - n + 1
	}
	for t := from; t <= to; t++ {
		if s := w.slots[mod(t, len(w.slots))]; s.sec == t {
			compared += int64(s.compared)
			diff += int64(s.diff)
		}
	}
	return compared, diff
}

func mod(a int64, n int) int {
	m := int(a % int64(n))
	if m < 0 {
		m += n
	}
	return m
}

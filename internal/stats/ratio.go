package stats

import "time"

// RatioWindow counts events and how many of them were hits (a mirrored
// comparison that differed, a response that broke its contract) per second,
// over a ring of one-second slots, for a rate over an analysis window. It is
// not safe for concurrent use: its owner guards it with a lock.
type RatioWindow struct {
	slots []ratioSlot
}

type ratioSlot struct {
	sec        int64 // Unix second the counts belong to
	total, hit uint32
}

// ratioSlots sizes a ring for a window: at least a minute, at most an hour.
func ratioSlots(d time.Duration) int {
	n := int((d+time.Second-1)/time.Second) + 2
	return min(max(n, 60), 3600)
}

// NewRatioWindow returns a window that can sum over d (at least a minute,
// at most an hour).
func NewRatioWindow(d time.Duration) RatioWindow {
	return RatioWindow{slots: make([]ratioSlot, ratioSlots(d))}
}

// Resize keeps the counts of the seconds that fit a ring sized for d.
func (w *RatioWindow) Resize(d time.Duration) {
	n := ratioSlots(d)
	if n == len(w.slots) {
		return
	}
	next := make([]ratioSlot, n)
	for _, s := range w.slots {
		if s.sec == 0 {
			continue
		}
		i := int(mod(s.sec, int64(n)))
		if s.sec > next[i].sec {
			next[i] = s
		}
	}
	w.slots = next
}

// Add counts one event at now, a hit or not.
func (w *RatioWindow) Add(now time.Time, hit bool) {
	sec := now.Unix()
	s := &w.slots[mod(sec, int64(len(w.slots)))]
	if s.sec != sec {
		*s = ratioSlot{sec: sec}
	}
	s.total++
	if hit {
		s.hit++
	}
}

// Sum adds the counts of the whole seconds in [now-d, now], and not before
// since when it is set — the same bounds as the Registry's windows.
func (w *RatioWindow) Sum(now time.Time, d time.Duration, since time.Time) (total, hit int64) {
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
	n := int64(len(w.slots))
	if to-from >= n {
		from = to - n + 1
	}
	for t := from; t <= to; t++ {
		if s := w.slots[mod(t, n)]; s.sec == t {
			total += int64(s.total)
			hit += int64(s.hit)
		}
	}
	return total, hit
}

// Rate is Sum as a ratio: hits over events, and the events it rests on (0
// and 0 without events).
func (w *RatioWindow) Rate(now time.Time, d time.Duration, since time.Time) (float64, int64) {
	total, hit := w.Sum(now, d, since)
	if total == 0 {
		return 0, 0
	}
	return float64(hit) / float64(total), total
}

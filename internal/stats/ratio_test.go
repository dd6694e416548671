package stats

import (
	"testing"
	"time"
)

func TestRatioWindow(t *testing.T) {
	base := time.Unix(1_000_000, 0)
	w := NewRatioWindow(10 * time.Second)
	for i := range 20 {
		w.Add(base.Add(time.Duration(i)*time.Second), i%4 == 0)
	}
	now := base.Add(19*time.Second + 500*time.Millisecond)
	if c, d := w.Sum(now, 10*time.Second, time.Time{}); c != 10 || d != 2 {
		t.Errorf("last 10s: %d events, %d hits; want 10, 2", c, d)
	}
	if r, n := w.Rate(now, 10*time.Second, time.Time{}); n != 10 || r != 0.2 {
		t.Errorf("rate over the last 10s: %v of %d, want 0.2 of 10", r, n)
	}
	if c, _ := w.Sum(now, 10*time.Second, base.Add(15*time.Second)); c != 5 {
		t.Errorf("since 15s: %d events, want 5", c)
	}
	if c, _ := w.Sum(now.Add(time.Hour), 10*time.Second, time.Time{}); c != 0 {
		t.Errorf("an hour later: %d events, want 0", c)
	}
	if r, n := w.Rate(now.Add(time.Hour), 10*time.Second, time.Time{}); r != 0 || n != 0 {
		t.Errorf("rate without events: %v of %d, want 0 of 0", r, n)
	}
	if c, _ := w.Sum(now, 2*time.Hour, time.Time{}); c != 20 {
		t.Errorf("a window longer than the ring: %d events, want 20", c)
	}
	w.Resize(5 * time.Minute)
	if c, d := w.Sum(now, 10*time.Second, time.Time{}); c != 10 || d != 2 {
		t.Errorf("after resize: %d events, %d hits; want 10, 2", c, d)
	}
}

package gctune

import (
	"errors"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// DefaultMinGoal is the heap size below which there is no collection.
const DefaultMinGoal = 20 << 20

// Bounds of the percent a Tuner sets: never below Go's default, and never
// so high that a sudden jump of the live heap (a reload of a large
// configuration) could multiply the footprint for more than one cycle.
const (
	minPercent = 100
	maxPercent = 800
)

// PercentFor is the GOGC percent that lets a live heap of live bytes grow
// to minGoal bytes before the next collection, within [100, 800]: a heap
// of more than half minGoal keeps Go's default, and so its footprint. A
// live heap not measured yet (0) gets the default too: the garbage of
// loading a large configuration must not pile up 8-fold before the first
// collection measures it.
func PercentFor(live, minGoal uint64) int {
	if live == 0 || live >= minGoal {
		return minPercent
	}
	p := (minGoal - live) * 100 / live
	switch {
	case p < minPercent:
		return minPercent
	case p > maxPercent:
		return maxPercent
	}
	return int(p)
}

// Tuner re-sets GOGC after every collection from the live heap that
// collection measured (runtime/metrics' /gc/heap/live:bytes). Setting the
// percent recomputes the goal of the cycle that has just begun, so a live
// heap that jumped is paced for at once. A Tuner is started once and
// stopped once; its methods are safe for concurrent use.
type Tuner struct {
	minGoal uint64
	set     func(int) int // debug.SetGCPercent

	mu      sync.Mutex
	running bool
	percent int // what the Tuner last set
	before  int // the percent in force when it started
	sample  []metrics.Sample
}

// New returns a Tuner that lets the heap grow to minGoal bytes before a
// collection.
func New(minGoal uint64) (*Tuner, error) {
	if minGoal == 0 {
		return nil, errors.New("gctune: the minimum heap goal must be positive")
	}
	return &Tuner{minGoal: minGoal, set: debug.SetGCPercent,
		sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}, nil
}

// Start sets the percent for the current live heap and follows every
// collection from now on.
func (t *Tuner) Start() {
	t.mu.Lock()
	if t.running {
		t.mu.Unlock()
		return
	}
	t.running = true
	t.percent = PercentFor(t.live(), t.minGoal)
	t.before = t.set(t.percent)
	t.mu.Unlock()
	arm(t)
}

// Stop stops following collections and puts back the percent in force
// before Start.
func (t *Tuner) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.running {
		return
	}
	t.running = false
	t.set(t.before)
}

// Percent is the GOGC percent the Tuner last set (0 before Start).
func (t *Tuner) Percent() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.percent
}

// collected runs after a collection: it re-sets the percent when the live
// heap moved it by more than a tenth, and reports whether to keep
// following.
func (t *Tuner) collected() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.running {
		return false
	}
	p := PercentFor(t.live(), t.minGoal)
	if d := p - t.percent; d*10 > t.percent || -d*10 > t.percent {
		t.percent = p
		t.set(p)
	}
	return true
}

func (t *Tuner) live() uint64 {
	metrics.Read(t.sample)
	if t.sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return t.sample[0].Value.Uint64()
}

// sentinel is garbage the moment it is made; its finalizer runs after the
// collection that found it and makes the next one.
type sentinel struct {
	t   *Tuner
	pad [32]byte // not a tiny allocation, which may share a block and be collected late
}

func arm(t *Tuner) {
	s := &sentinel{t: t}
	runtime.SetFinalizer(s, func(s *sentinel) {
		if s.t.collected() {
			arm(s.t)
		}
	})
}

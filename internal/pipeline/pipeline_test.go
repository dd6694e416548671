package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/rollout"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

var _ rollout.Gate = Gate[int, int]{}

// newTest returns a pipeline whose job function is do, closed at the end
// of the test.
func newTest(t *testing.T, o Options, do func(ctx context.Context, job int)) *Pipeline[int] {
	t.Helper()
	p, err := New(o, do)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// TestSubmitDrops: with the workers stopped, a queue of one takes one job;
// the next is dropped and counted on its lane, never blocking.
func TestSubmitDrops(t *testing.T) {
	p := newTest(t, Options{Workers: 1, Queue: 1}, func(context.Context, int) {})
	p.StopWorkers() // queued jobs stay queued
	var l Lane[int]
	if !p.Submit(&l, 1) || p.Submit(&l, 2) {
		t.Error("a queue of one took both jobs, or not the first")
	}
	if l.Dropped() != 1 || l.Pending() != 1 || p.Queued() != 1 {
		t.Errorf("dropped %d, pending %d, queued %d; want 1, 1, 1", l.Dropped(), l.Pending(), p.Queued())
	}
	if j, ok := p.Take(); !ok || j != 1 || l.Pending() != 0 {
		t.Errorf("took %d (%v), pending %d; want job 1 and nothing pending", j, ok, l.Pending())
	}
	if _, ok := p.Take(); ok {
		t.Error("took a job from an empty queue")
	}
}

// TestLanes: one lane whose jobs hang occupies at most PerLane workers;
// its further jobs wait in the lane (dropped once it is full) while another
// lane's jobs are processed.
func TestLanes(t *testing.T) {
	release := make(chan struct{})
	var done atomic.Int64
	p := newTest(t, Options{Workers: 2, Queue: 1, PerLane: 1}, func(ctx context.Context, job int) {
		if job < 10 {
			select { // the slow lane's jobs hang until released
			case <-release:
			case <-ctx.Done():
			}
		}
		done.Add(1)
	})
	var slow, fast Lane[int]
	p.Submit(&slow, 1)
	wait.For(t, 10*time.Second, "the slow job taken", func() bool { return p.Queued() == 0 })
	p.Submit(&slow, 2) // waits in the lane
	wait.For(t, 10*time.Second, "the second slow job in its lane", func() bool { return p.Queued() == 0 })
	p.Submit(&slow, 3) // the lane is full
	wait.For(t, 10*time.Second, "the third slow job dropped", func() bool { return slow.Dropped() == 1 })
	p.Submit(&fast, 10)
	wait.For(t, 10*time.Second, "the other lane's job done", func() bool { return done.Load() == 1 })
	if slow.Pending() != 2 || fast.Pending() != 0 || fast.Dropped() != 0 {
		t.Errorf("slow pending %d, fast pending %d dropped %d; want 2, 0, 0", slow.Pending(), fast.Pending(), fast.Dropped())
	}
	close(release)
	wait.For(t, 10*time.Second, "the slow lane drained", func() bool { return slow.Pending() == 0 && done.Load() == 3 })
}

// TestClose: Close cancels the jobs in flight, bounds its wait by ctx,
// flushes once more, and a closed pipeline takes nothing.
func TestClose(t *testing.T) {
	var flushed atomic.Int64
	started := make(chan struct{})
	stuck := make(chan struct{})
	p, err := New(Options{Name: "test", Workers: 1, Queue: 1, Flush: func() { flushed.Add(1) }, FlushEvery: time.Hour},
		func(ctx context.Context, job int) {
			close(started)
			<-stuck // ignores ctx: Close must not wait for it beyond its own
		})
	if err != nil {
		t.Fatal(err)
	}
	var l Lane[int]
	p.Submit(&l, 1)
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Close(ctx); !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "test: ") {
		t.Errorf("Close = %v, want the context's error named after the pipeline", err)
	}
	if flushed.Load() != 1 || !p.Closed() || p.Submit(&l, 2) {
		t.Errorf("flushed %d times, closed %v; want one flush and no more jobs", flushed.Load(), p.Closed())
	}
	close(stuck)
	if err := p.Close(context.Background()); err != nil {
		t.Errorf("a second Close = %v", err)
	}
	if _, err := New(Options{Workers: 1}, func(context.Context, int) {}); err == nil {
		t.Error("a pipeline without a queue")
	}
}

func TestRing(t *testing.T) {
	r := NewRing[string](3)
	if r.Changed() || len(r.List(10)) != 0 {
		t.Error("a new ring changed or holds samples")
	}
	for i := range 5 {
		r.Push(string(rune('a' + i)))
	}
	got := strings.Join(r.List(10), "")
	if got != "edc" {
		t.Errorf("ring list = %q, want edc", got)
	}
	if !r.Changed() || r.Changed() || r.Cap() != 3 {
		t.Error("Changed must report a push once")
	}
}

func TestTee(t *testing.T) {
	var tee Tee
	tee.Follow(io.NopCloser(strings.NewReader("0123456789")), -1, 4)
	if b, _ := io.ReadAll(&tee); string(b) != "0123456789" {
		t.Fatalf("client got %q", b)
	}
	if string(tee.Buf) != "0123" || !tee.Truncated || !tee.Following() {
		t.Errorf("tee kept %q, truncated %v", tee.Buf, tee.Truncated)
	}
	var whole Tee
	whole.Follow(io.NopCloser(strings.NewReader("0123")), 4, 4)
	if b, _ := io.ReadAll(&whole); string(b) != "0123" || string(whole.Buf) != "0123" || whole.Truncated || cap(whole.Buf) != 4 {
		t.Errorf("tee of a body of max bytes kept %q, truncated %v", whole.Buf, whole.Truncated)
	}
}

func TestGunzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte("hello, world"))
	_ = zw.Close()
	if b, err := Gunzip(buf.Bytes(), 100); err != nil || string(b) != "hello, world" {
		t.Errorf("Gunzip = %q, %v", b, err)
	}
	if b, err := Gunzip(buf.Bytes(), 5); err != nil || len(b) != 6 {
		t.Errorf("Gunzip beyond max = %q, %v; want max+1 bytes", b, err)
	}
	if _, err := Gunzip([]byte("plain"), 100); !errors.Is(err, ErrNotGzip) {
		t.Errorf("Gunzip of plain text = %v, want ErrNotGzip", err)
	}
	if _, err := Gunzip(buf.Bytes()[:buf.Len()-6], 100); err == nil || errors.Is(err, ErrNotGzip) {
		t.Errorf("Gunzip of a cut stream = %v, want a decoding error", err)
	}
}

// TestGateEvaluate: the gate reads the failed share over the window.
func TestGateEvaluate(t *testing.T) {
	now := time.Unix(2_000_000, 0)
	res := NewResults[int](time.Minute, 5, 0)
	for i := range 10 {
		res.Record(now.Add(-time.Duration(i)*time.Second), i == 0, func(c *int, ring *Ring[int]) { *c++ })
	}
	g := Gate[int, int]{
		Check: "diff_rate",
		Limit: func(a *config.Analysis) *float64 { return a.MaxDiffRate },
		Results: func(s string) *Results[int, int] {
			if s == "s" {
				return res
			}
			return nil
		},
		Now: func() time.Time { return now },
	}
	max := 0.05
	if th, ok := g.Threshold(&config.Analysis{MaxDiffRate: &max}); !ok || th != max || g.Name() != "diff_rate" {
		t.Errorf("threshold = %v, %v", th, ok)
	}
	if _, ok := g.Threshold(&config.Analysis{}); ok {
		t.Error("a threshold without max_diff_rate")
	}
	if rate, n := g.Evaluate("s", 10*time.Second, time.Time{}); rate != 0.1 || n != 10 {
		t.Errorf("Evaluate = %v over %d, want 0.1 over 10", rate, n)
	}
	if _, n := g.Evaluate("s", 10*time.Second, now.Add(-4*time.Second)); n != 5 {
		t.Errorf("since 4s ago: %d samples, want 5", n)
	}
	if rate, n := g.Evaluate("unknown", 10*time.Second, time.Time{}); rate != 0 || n != 0 {
		t.Errorf("unknown service: %v over %d", rate, n)
	}
	res.With(func(c *int, _ *Ring[int]) {
		if *c != 10 {
			t.Errorf("counted %d outcomes, want 10", *c)
		}
	})
}

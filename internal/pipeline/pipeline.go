package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultFlushEvery is how often Options.Flush runs by default.
const DefaultFlushEvery = time.Second

// Options configure a Pipeline.
type Options struct {
	// Name prefixes the Pipeline's errors ("mirror").
	Name string
	// Workers process the jobs (at least one). Queue is how many jobs may
	// wait for them, and in each lane (at least one).
	Workers, Queue int
	// PerLane caps the workers one lane's jobs occupy at once; the lane's
	// further jobs wait in the lane (up to Queue, then they are dropped),
	// and the workers on that lane take them in turn, so a lane whose jobs
	// hang cannot stall the others. Zero: no cap.
	PerLane int
	// Flush, when set, runs every FlushEvery (default DefaultFlushEvery)
	// on the Pipeline's own goroutine, and once more at Close after the
	// workers stopped.
	Flush      func()
	FlushEvery time.Duration
}

// Lane is one service's place in a Pipeline: its jobs dropped and pending,
// and (with Options.PerLane) the jobs waiting for one of its workers. The
// zero Lane is ready for use; it is safe for concurrent use and lives as
// long as the service's results.
type Lane[J any] struct {
	dropped atomic.Uint64
	pending atomic.Int64

	mu   sync.Mutex
	busy int // workers on this lane's jobs
	wait []J // jobs waiting for one of them
}

// Dropped counts the jobs refused by a full queue or a full lane.
func (l *Lane[J]) Dropped() uint64 { return l.dropped.Load() }

// Pending counts the jobs queued or being processed right now.
func (l *Lane[J]) Pending() int64 { return l.pending.Load() }

type item[J any] struct {
	lane *Lane[J]
	job  J
}

// Pipeline is a bounded queue served by a fixed pool of workers, each
// running the concern's function on one job at a time. It is safe for
// concurrent use; Close stops it.
type Pipeline[J any] struct {
	o      Options
	do     func(ctx context.Context, job J)
	queue  chan item[J]
	closed atomic.Bool

	mu     sync.Mutex // serialises Close
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New starts a Pipeline's workers (and its flush loop). do processes one
// job; its ctx is cancelled by Close, when an unfinished job's outcome no
// longer matters.
func New[J any](o Options, do func(ctx context.Context, job J)) (*Pipeline[J], error) {
	if do == nil || o.Workers <= 0 || o.Queue <= 0 || o.PerLane < 0 {
		return nil, errors.New("pipeline: a job function, workers and a queue are required")
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = DefaultFlushEvery
	}
	p := &Pipeline[J]{o: o, do: do, queue: make(chan item[J], o.Queue)}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(o.Workers)
	for range o.Workers {
		go p.work()
	}
	if o.Flush != nil {
		p.wg.Add(1)
		go p.flushLoop()
	}
	return p, nil
}

// Submit queues job on lane. It never blocks: a full queue drops the job
// and counts it on the lane. A closed Pipeline takes nothing.
func (p *Pipeline[J]) Submit(lane *Lane[J], job J) bool {
	if p.closed.Load() {
		return false
	}
	lane.pending.Add(1)
	select {
	case p.queue <- item[J]{lane, job}:
		return true
	default:
		lane.pending.Add(-1)
		lane.dropped.Add(1)
		return false
	}
}

// Closed reports whether Close was called.
func (p *Pipeline[J]) Closed() bool { return p.closed.Load() }

// Queued returns how many jobs wait in the queue.
func (p *Pipeline[J]) Queued() int { return len(p.queue) }

// Take removes a queued job without processing it, false when none waits.
// With StopWorkers, it lets a test or a benchmark drive jobs itself.
func (p *Pipeline[J]) Take() (J, bool) {
	select {
	case it := <-p.queue:
		it.lane.pending.Add(-1)
		return it.job, true
	default:
		var zero J
		return zero, false
	}
}

// StopWorkers stops the workers and the flush loop and waits for them;
// jobs submitted afterwards stay queued. Close calls it (bounded by its
// context); tests use it to see what is queued.
func (p *Pipeline[J]) StopWorkers() {
	p.cancel()
	p.wg.Wait()
}

// Close stops the Pipeline: nothing more is submitted, jobs in flight see
// their context cancelled, the workers stop (the wait bounded by ctx) and
// Flush runs one last time.
func (p *Pipeline[J]) Close(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Swap(true) {
		return nil
	}
	p.cancel()
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("%s: stopping workers: %w", p.o.Name, ctx.Err())
	}
	if p.o.Flush != nil {
		p.o.Flush()
	}
	return err
}

// work serves the queue until the Pipeline stops.
func (p *Pipeline[J]) work() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case it := <-p.queue:
			p.serve(it)
		}
	}
}

// serve processes a job unless its lane's jobs already occupy their share
// of the workers: the job then waits in the lane (or is dropped when the
// lane is full), and the workers on that lane take it in turn. A worker
// never waits for another lane's slow jobs.
func (p *Pipeline[J]) serve(it item[J]) {
	l := it.lane
	if p.o.PerLane == 0 {
		p.do(p.ctx, it.job)
		l.pending.Add(-1)
		return
	}
	l.mu.Lock()
	if l.busy >= p.o.PerLane {
		if len(l.wait) < p.o.Queue {
			l.wait = append(l.wait, it.job)
		} else {
			l.dropped.Add(1)
			l.pending.Add(-1)
		}
		l.mu.Unlock()
		return
	}
	l.busy++
	l.mu.Unlock()
	job, more := it.job, true
	for more {
		p.do(p.ctx, job)
		l.pending.Add(-1)
		l.mu.Lock()
		var zero J
		if more = len(l.wait) > 0 && p.ctx.Err() == nil; more {
			job, l.wait[0] = l.wait[0], zero
			l.wait = l.wait[1:]
		} else {
			l.busy--
		}
		l.mu.Unlock()
	}
}

// flushLoop runs Flush every FlushEvery until the Pipeline stops.
func (p *Pipeline[J]) flushLoop() {
	defer p.wg.Done()
	tick := time.NewTicker(p.o.FlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-tick.C:
			p.o.Flush()
		}
	}
}

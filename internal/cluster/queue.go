package cluster

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/store"
)

// maxQueued bounds the events a Store holds while the backend does not
// answer; beyond it the oldest are dropped (and counted), the member's
// local log keeps them.
const maxQueued = 1024

// queueBatch bounds the events of one append of the queue: one
// transaction within MaxTxnOps.
const queueBatch = MaxTxnOps - txnOverhead

// queueRetry is the pause between two appends of the queue that failed.
const queueRetry = 500 * time.Millisecond

// eventQueue holds the events Store.Append could not append at once (the
// backend did not answer, or events before them wait), in order, and
// appends them when it answers again. The backend numbers them then: an
// event's sequence is the fleet's. An append whose outcome is unknown (it
// timed out) is checked against the fleet's newest events before it is
// made again, so no event is recorded twice. It is safe for concurrent
// use; the drain goroutine runs from newEventQueue until close.
type eventQueue struct {
	b   Backend
	log func(msg string, args ...any)

	mu        sync.Mutex
	pending   []store.Event
	uncertain bool   // the last append of pending[0:] may have been made
	dropped   uint64 // events dropped from a full queue

	wake   chan struct{}
	done   chan struct{}
	closed sync.Once
	wg     sync.WaitGroup
}

func newEventQueue(b Backend, log func(msg string, args ...any)) *eventQueue {
	q := &eventQueue{b: b, log: log, wake: make(chan struct{}, 1), done: make(chan struct{})}
	q.wg.Go(q.drain)
	return q
}

// idle reports whether nothing waits: an event may be appended at once.
func (q *eventQueue) idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending) == 0
}

// push queues events after the waiting ones; uncertain says an append of
// them may have been made.
func (q *eventQueue) push(uncertain bool, events ...store.Event) {
	q.mu.Lock()
	if len(q.pending) == 0 {
		q.uncertain = uncertain
	} else {
		q.uncertain = q.uncertain || uncertain
	}
	q.pending = append(q.pending, events...)
	if over := len(q.pending) - maxQueued; over > 0 {
		q.pending = append(q.pending[:0:0], q.pending[over:]...)
		q.dropped += uint64(over)
		q.log("cluster: event queue full while etcd does not answer; dropped the oldest (kept in the local log)", "dropped", over)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Len returns how many events wait.
func (q *eventQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// drain appends the queue whenever woken, and every queueRetry while
// events wait, until close.
func (q *eventQueue) drain() {
	t := time.NewTicker(queueRetry)
	defer t.Stop()
	for {
		select {
		case <-q.done:
			return
		case <-q.wake:
		case <-t.C:
		}
		for q.appendFront() {
		}
	}
}

// appendFront appends the oldest waiting events, at most queueBatch, and
// reports whether it did (and more may wait).
func (q *eventQueue) appendFront() bool {
	q.mu.Lock()
	n := min(len(q.pending), queueBatch)
	batch := append([]store.Event(nil), q.pending[:n]...)
	uncertain := q.uncertain
	q.mu.Unlock()
	if n == 0 {
		return false
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-q.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	made := 0
	if uncertain {
		var err error
		if made, err = q.alreadyMade(ctx, batch); err != nil {
			return false
		}
	}
	if made < n {
		if _, err := q.b.AppendEvents(ctx, batch[made:]...); err != nil {
			q.mu.Lock()
			q.uncertain = errors.Is(err, ErrUnavailable)
			q.mu.Unlock()
			return false
		}
	}
	q.mu.Lock()
	q.pending = q.pending[n:]
	q.uncertain = false
	q.mu.Unlock()
	return true
}

// alreadyMade returns how many of batch, from its start, the fleet's log
// holds already (an append that timed out after etcd made it).
func (q *eventQueue) alreadyMade(ctx context.Context, batch []store.Event) (int, error) {
	recent, err := q.b.Events(ctx, store.EventQuery{Limit: min(store.MaxEventLimit, len(batch)+maxQueued)})
	if err != nil {
		return 0, err
	}
	// The batch's first event, when made, is among the newest; the ones
	// after it follow it in the log.
	for i, ev := range recent {
		if same(ev, batch[0]) {
			made := 0
			for j := i; j < len(recent) && made < len(batch) && same(recent[j], batch[made]); j++ {
				made++
			}
			return made, nil
		}
	}
	return 0, nil
}

// same reports whether a is the event b, as recorded through this member:
// its time (set when queued), type, message and member.
func same(a, b store.Event) bool {
	return a.At.Equal(b.At) && a.Type == b.Type && a.Message == b.Message && a.Service == b.Service &&
		a.Fields["member"] == b.Fields["member"]
}

// close stops the drain; the events still waiting stay in the member's
// local log only. It is idempotent.
func (q *eventQueue) close() {
	q.closed.Do(func() { close(q.done) })
	q.wg.Wait()
}

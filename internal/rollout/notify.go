package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnout-gw/turnout/internal/store"
)

// Notifier POSTs rollout events as JSON to webhook URLs: a Slack-compatible
// `text` field plus the structured event. Sending never blocks the caller:
// messages go through a bounded queue (dropped and counted when full) to one
// worker that retries each delivery with exponential backoff.
type Notifier struct {
	client  *http.Client
	log     *slog.Logger
	queue   chan delivery
	backoff time.Duration
	tries   int
	dropped atomic.Int64
	failed  atomic.Int64
	sent    atomic.Int64
	wg      sync.WaitGroup
	cancel  context.CancelFunc
	ctx     context.Context
}

type delivery struct {
	url  string
	body []byte
}

// Payload is the JSON body of a notification.
type Payload struct {
	Text  string      `json:"text"`
	Event store.Event `json:"event"`
}

// NewNotifier starts a notifier with a queue of size queue, tries attempts
// per delivery and backoff doubling from base. Stop it with Close.
func NewNotifier(log *slog.Logger, queue, tries int, base time.Duration) *Notifier {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Notifier{client: &http.Client{Timeout: 5 * time.Second}, log: log, queue: make(chan delivery, queue),
		backoff: base, tries: tries, ctx: ctx, cancel: cancel}
	n.wg.Add(1)
	go n.run()
	return n
}

// Send queues ev for every URL; it never blocks.
func (n *Notifier) Send(urls []string, ev store.Event) {
	text := fmt.Sprintf("turnout: %s: %s", ev.Service, ev.Message)
	body, err := json.Marshal(Payload{Text: text, Event: ev})
	if err != nil {
		n.log.Error("encoding notification", "error", err)
		return
	}
	for _, u := range urls {
		select {
		case n.queue <- delivery{url: u, body: body}:
		default:
			n.dropped.Add(1)
			n.log.Warn("notification queue full; dropped", "url", u, "event", ev.Type)
		}
	}
}

// Stats reports deliveries sent, failed after every retry, and dropped.
func (n *Notifier) Stats() (sent, failed, dropped int64) {
	return n.sent.Load(), n.failed.Load(), n.dropped.Load()
}

// Close stops the worker; queued deliveries are abandoned.
func (n *Notifier) Close() {
	n.cancel()
	n.wg.Wait()
}

func (n *Notifier) run() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case d := <-n.queue:
			n.deliver(d)
		}
	}
}

func (n *Notifier) deliver(d delivery) {
	wait := n.backoff
	for attempt := 1; attempt <= n.tries; attempt++ {
		err := n.post(d)
		if err == nil {
			n.sent.Add(1)
			return
		}
		n.log.Warn("notification failed", "url", d.url, "attempt", attempt, "error", err)
		if attempt == n.tries {
			break
		}
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
	n.failed.Add(1)
}

func (n *Notifier) post(d delivery) error {
	req, err := http.NewRequestWithContext(n.ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return nil
}

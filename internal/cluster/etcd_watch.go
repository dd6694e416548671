package cluster

import (
	"context"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/turnout-gw/turnout/internal/store"
)

// watchBuffer bounds the changes a watch holds for a slow reader; beyond
// it the watch waits for the reader.
const watchBuffer = 256

// rewatchPause separates two watches when etcd cuts one.
const rewatchPause = 200 * time.Millisecond

// Watch delivers the changes under the prefix after rev, in order. When
// etcd cuts the watch (compaction, a lost connection it cannot resume) it
// delivers KindResync and watches again from the newest revision.
func (e *Etcd) Watch(ctx context.Context, rev int64) <-chan Change {
	out := make(chan Change, watchBuffer)
	// Added under e.mu, unless closed: Close waits for e.wg once closed.
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		close(out)
		return out
	}
	e.wg.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.wg.Done()
		defer close(out)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-e.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithRev(rev + 1)}
		for ctx.Err() == nil {
			wch := e.c.Watch(clientv3.WithRequireLeader(ctx), e.prefix+"/", opts...)
		recv:
			for {
				// clientv3 does not close wch on cancel while its stream
				// cannot reach etcd: wait for the context too, so a member
				// stopped during an outage stops.
				var resp clientv3.WatchResponse
				var ok bool
				select {
				case resp, ok = <-wch:
				case <-ctx.Done():
					return
				}
				if !ok || resp.Err() != nil || resp.Canceled {
					break recv
				}
				for _, ev := range resp.Events {
					ch, ok := e.change(ev)
					if !ok {
						continue
					}
					select {
					case out <- ch:
					case <-ctx.Done():
						return
					}
				}
			}
			if ctx.Err() != nil {
				return
			}
			// Cut: after a pause (a cut that repeats does not spin), say
			// so, then watch from now on; the reader reads again.
			opts = []clientv3.OpOption{clientv3.WithPrefix()}
			pause := time.NewTimer(rewatchPause)
			select {
			case <-pause.C:
			case <-ctx.Done():
				pause.Stop()
				return
			}
			select {
			case out <- Change{Kind: KindResync}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// change classifies one etcd event; events and the sequence are not
// changes a member applies.
func (e *Etcd) change(ev *clientv3.Event) (Change, bool) {
	key := string(ev.Kv.Key)
	rev := ev.Kv.ModRevision
	switch {
	case strings.HasPrefix(key, e.rolloutKey("")):
		name := strings.TrimPrefix(key, e.rolloutKey(""))
		ch := Change{Kind: KindRollout, Name: name, Rev: rev}
		if ev.Type == mvccpb.PUT {
			st, err := store.DecodeRollout(name, ev.Kv.Value)
			if err != nil {
				e.log.Error("cluster: undecodable rollout state; reading everything again", "service", name, "err", err)
				return Change{Kind: KindResync, Rev: rev}, true
			}
			ch.Rollout = &Versioned{RolloutState: st, Rev: rev}
		}
		return ch, true
	case strings.HasPrefix(key, e.memberKey("")):
		return Change{Kind: KindMember, Name: strings.TrimPrefix(key, e.memberKey("")), Rev: rev}, true
	case strings.HasPrefix(key, e.leaderPrefix()+"/"):
		return Change{Kind: KindLeader, Rev: rev}, true
	case strings.HasPrefix(key, e.prefix+"/blobs/"):
		return e.blobChange(key, ev.Kv.Value, ev.Type == mvccpb.DELETE, rev)
	}
	return Change{}, false
}

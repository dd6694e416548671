package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// tally counts the outcomes of one kind of load. Safe for concurrent use.
type tally struct {
	mu     sync.Mutex
	ok     int64
	status map[int]int64 // answers other than 200
	errs   int64         // transport errors
	first  []string      // the first few, with the time they happened
}

// add records one operation: status is the HTTP status (0 for gRPC and
// WebSocket operations, which either work or fail); errStopped (an
// operation cut by the end of a phase) is not counted.
func (t *tally) add(status int, err error) {
	if errors.Is(err, errStopped) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case err != nil:
		t.errs++
		if len(t.first) < 5 {
			t.first = append(t.first, time.Now().Format("15:04:05.000")+" "+err.Error())
		}
	case status == http.StatusOK || status == 0:
		t.ok++
	default:
		if t.status == nil {
			t.status = map[int]int64{}
		}
		t.status[status]++
	}
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	codes := make([]int, 0, len(t.status))
	for c := range t.status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var other []string
	for _, c := range codes {
		other = append(other, fmt.Sprintf("%d×%d", t.status[c], c))
	}
	s := fmt.Sprintf("ok %d, other statuses [%s], transport errors %d", t.ok, strings.Join(other, " "), t.errs)
	for _, e := range t.first {
		s += "\n                  " + e
	}
	return s
}

func (t *tally) counts() (ok, errs int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ok, t.errs
}

// load is the mixed traffic: HTTP/1.1 and h2c GETs, gRPC streams (duplex
// and server streaming) and WebSocket sessions, each from its own workers,
// every worker pausing between operations so that two cores are not
// saturated.
type load struct {
	addr                string
	h1, h2c, grpc, ws   tally
	h1Client, h2cClient *http.Client
	grpcConn            *grpc.ClientConn
	wg                  sync.WaitGroup
}

func newLoad(addr string) (*load, error) {
	l := &load{addr: addr}
	l.h1Client = &http.Client{Timeout: 15 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}}
	h2 := &http.Transport{IdleConnTimeout: 30 * time.Second, Protocols: new(http.Protocols)}
	h2.Protocols.SetUnencryptedHTTP2(true)
	l.h2cClient = &http.Client{Timeout: 15 * time.Second, Transport: h2}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	l.grpcConn = conn
	return l, nil
}

// pause is each worker's rest between operations: 1,300-1,500 operations/s
// in all on a 2-core machine.
const pause = 5 * time.Millisecond

// run starts the workers; they stop when ctx ends (wait for them with
// wait).
func (l *load) run(ctx context.Context) {
	spawn := func(n int, op func(ctx context.Context, w, i int)) {
		for w := range n {
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					op(ctx, w, i)
					sleep(ctx, pause)
				}
			}()
		}
	}
	spawn(4, func(ctx context.Context, w, i int) { l.h1.add(l.get(ctx, l.h1Client, w, i)) })
	spawn(2, func(ctx context.Context, w, i int) { l.h2c.add(l.get(ctx, l.h2cClient, w, i)) })
	spawn(2, func(ctx context.Context, w, i int) { l.grpc.add(0, l.stream(ctx, i)) })
	spawn(2, func(ctx context.Context, w, i int) { l.ws.add(0, l.websocket(ctx, w, i)) })
}

func (l *load) wait() {
	l.wg.Wait()
	l.h1Client.CloseIdleConnections()
	l.h2cClient.CloseIdleConnections()
}

func (l *load) close() { _ = l.grpcConn.Close() }

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// get is one GET of the web service by a user (sticky key) among 1,000.
func (l *load) get(ctx context.Context, c *http.Client, w, i int) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/web/items/%d", l.addr, i%50), nil)
	req.Header.Set("X-User-ID", fmt.Sprintf("u%d", rand.IntN(1000)))
	resp, err := c.Do(req)
	if err != nil {
		return 0, ignoreStop(ctx, err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, ignoreStop(ctx, err)
	}
	if resp.StatusCode == http.StatusOK && resp.Header.Get("X-Served-Version") == "" {
		return 0, errors.New("200 without X-Served-Version")
	}
	return resp.StatusCode, nil
}

// stream alternates a duplex stream of 20 echoes and a server stream of 10
// messages.
func (l *load) stream(ctx context.Context, i int) error {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c := testpb.NewTestServiceClient(l.grpcConn)
	if i%2 == 1 {
		params := make([]*testpb.ResponseParameters, 10)
		for k := range params {
			params[k] = &testpb.ResponseParameters{Size: 256}
		}
		s, err := c.StreamingOutputCall(cctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params})
		if err != nil {
			return ignoreStop(ctx, err)
		}
		for n := 0; ; n++ {
			_, err := s.Recv()
			if errors.Is(err, io.EOF) && n == len(params) {
				return nil
			}
			if err != nil {
				return ignoreStop(ctx, fmt.Errorf("server stream after %d messages: %w", n, err))
			}
		}
	}
	s, err := c.FullDuplexCall(cctx)
	if err != nil {
		return ignoreStop(ctx, err)
	}
	for n := range 20 {
		msg := fmt.Sprintf("m%d", n)
		if err := s.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(msg)}}); err != nil {
			return ignoreStop(ctx, err)
		}
		out, err := s.Recv()
		if err != nil {
			return ignoreStop(ctx, err)
		}
		if !strings.HasSuffix(string(out.GetPayload().GetBody()), ":"+msg) {
			return fmt.Errorf("duplex echo %q for %q", out.GetPayload().GetBody(), msg)
		}
	}
	if err := s.CloseSend(); err != nil {
		return ignoreStop(ctx, err)
	}
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		return ignoreStop(ctx, fmt.Errorf("duplex end: %v", err))
	}
	return nil
}

// websocket opens a session through the web service and echoes 10
// messages.
func (l *load) websocket(ctx context.Context, w, i int) error {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, NetDialContext: (&net.Dialer{}).DialContext}
	h := http.Header{"X-User-ID": {fmt.Sprintf("ws%d-%d", w, i)}}
	c, resp, err := d.DialContext(ctx, "ws://"+l.addr+"/web/ws", h)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("websocket handshake: %s", resp.Status)
		}
		return ignoreStop(ctx, err)
	}
	defer c.Close()
	_ = c.NetConn().SetDeadline(time.Now().Add(15 * time.Second))
	for n := range 10 {
		msg := fmt.Sprintf("w%d-%d-%d", w, i, n)
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			return ignoreStop(ctx, err)
		}
		_, got, err := c.ReadMessage()
		if err != nil {
			return ignoreStop(ctx, err)
		}
		if !strings.HasSuffix(string(got), ":"+msg) {
			return fmt.Errorf("websocket echo %q for %q", got, msg)
		}
	}
	_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	return nil
}

var errStopped = errors.New("stopped by the end of the phase")

// ignoreStop turns the error of an operation cut by the end of the phase
// into errStopped.
func ignoreStop(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errStopped
	}
	return err
}

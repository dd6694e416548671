package upstream

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
)

// h2Kinds are the two ways to speak HTTP/2 to an upstream.
var h2Kinds = []struct {
	name string
	tls  bool
}{{"h2c", false}, {"h2", true}}

// h2Spec is a pool spec for u: protocol h2 with its CA for a TLS upstream,
// h2c otherwise.
func h2Spec(u *h2Upstream) *config.Upstream {
	if u.CA != "" {
		spec := upstreamSpec(config.ProtocolH2, u.URL)
		spec.TLS = &config.UpstreamTLS{CA: u.CA}
		return spec
	}
	return upstreamSpec(config.ProtocolH2C, u.URL)
}

// blockingHandler answers /slow once release is closed (or the request
// ends), counting the calls that arrived; every other path answers at once.
func blockingHandler(arrived *atomic.Int64, release <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		_, _ = io.WriteString(w, "ok")
	})
}

// sendAll starts one GET path per request through p at once and returns the
// channel their errors arrive on.
func sendAll(t *testing.T, p *Pool, n int, path string) <-chan error {
	t.Helper()
	errs := make(chan error, n)
	for range n {
		req := newReq(t, http.MethodGet, path)
		go func() {
			code, _, err := send(p, req)
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("status %d", code)
			}
			errs <- err
		}()
	}
	return errs
}

// TestH2StreamsOverflowToNewConnections: five calls in flight at once to an
// upstream allowing two streams per connection are all at the upstream
// together — none waits for another to finish — on three connections.
func TestH2StreamsOverflowToNewConnections(t *testing.T) {
	for _, kind := range h2Kinds {
		t.Run(kind.name, func(t *testing.T) {
			const n, perConn = 5, 2
			var arrived atomic.Int64
			release := make(chan struct{})
			u := startH2Upstream(t, kind.tls, perConn, blockingHandler(&arrived, release))
			done := sync.OnceFunc(func() { close(release) })
			t.Cleanup(done) // before the upstream stops
			p := mustPool(t, h2Spec(u))

			errs := sendAll(t, p, n, "/slow")
			wait.For(t, 10*time.Second, "all five calls at the upstream at once", func() bool { return arrived.Load() == n })
			used, most := u.conns()
			// net/http may dial more and close the extras at once.
			t.Logf("%d calls on %d connections (%d dialled)", n, used, u.accepted.Load())
			if want := (n + perConn - 1) / perConn; used != want || most > perConn {
				t.Errorf("calls on %d connections, at most %d on one; want %d connections of at most %d", used, most, want, perConn)
			}
			done()
			for range n {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestH2StreamsShareOneConnection: below the upstream's stream limit every
// call goes on one connection: fifty one after another, then two at once.
func TestH2StreamsShareOneConnection(t *testing.T) {
	for _, kind := range h2Kinds {
		t.Run(kind.name, func(t *testing.T) {
			var arrived atomic.Int64
			release := make(chan struct{})
			u := startH2Upstream(t, kind.tls, 2, blockingHandler(&arrived, release))
			p := mustPool(t, h2Spec(u))
			for range 50 {
				mustGet(t, p, "/")
			}
			errs := sendAll(t, p, 2, "/slow")
			wait.For(t, 10*time.Second, "both calls at the upstream", func() bool { return arrived.Load() == 2 })
			close(release)
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			if used, most := u.conns(); used != 1 || most != 52 || u.accepted.Load() != 1 {
				t.Errorf("52 calls on %d connections (%d accepted), at most %d on one; want all on one", used, u.accepted.Load(), most)
			}
		})
	}
}

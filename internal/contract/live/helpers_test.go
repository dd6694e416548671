package live

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/contract"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

// unitYAML has the items service of the integration tests; its documents
// are loaded by newTestManager.
const unitYAML = `
upstreams:
  u: { targets: [http://127.0.0.1:9] }
services:
  items:
    match: { path_prefix: /items }
    default: v1
    versions: { v1: { upstream: u, openapi: v1.yaml }, v2: { upstream: u, openapi: v2.yaml } }
    rollout: { from: v1, to: v2, weight: 100 }
    contract: { validate_percent: 100, max_body: 1KiB, client_key: header:X-Client-ID }
`

// fixture is a Manager over unitYAML with a test clock, and the routing
// table's view of the service.
type fixture struct {
	m     *Manager
	docs  map[string]*contract.Document // by version
	clock *testclock.Clock
	svc   *route.Service
	v1    *route.Version
	v2    *route.Version
}

func newFixture(t testing.TB, o Options) *fixture {
	t.Helper()
	cfg, err := config.Parse("turnout.yaml", []byte(unitYAML))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]*contract.Document{}
	for _, v := range []string{"v1", "v2"} {
		d, err := contract.Load(filepath.Join("testdata", "items-"+v+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		docs[v] = d
	}
	f := &fixture{docs: docs, clock: testclock.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))}
	o.Now = f.clock.Now
	if f.m, err = New(o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.m.Close(t.Context()) })
	f.m.Update(cfg, func(service, version string) *contract.Document { return docs[version] })
	table, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = table.Service("items")
	f.v1, f.v2 = f.svc.Version("v1"), f.svc.Version("v2")
	return f
}

// request builds an outbound request as the proxy hands it to Start.
func request(method, target string, headers ...string) *http.Request {
	u, _ := url.Parse(target)
	r := &http.Request{Method: method, URL: u, Header: http.Header{}}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

// answer plays one exchange through a tap: the answer's body is read
// whole, as the client would.
func answer(t *testing.T, tp interface {
	Response(*http.Response, *route.Version) io.ReadCloser
	Done(error)
}, served *route.Version, status int, body string, header ...string) http.Header {
	t.Helper()
	resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader([]byte(body))), ContentLength: int64(len(body))}
	for i := 0; i+1 < len(header); i += 2 {
		resp.Header.Set(header[i], header[i+1])
	}
	rc := tp.Response(resp, served)
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	_ = rc.Close()
	tp.Done(nil)
	return resp.Header
}

const time1m = time.Minute

// responseOf is a 200 JSON answer whose length is n (-1: unknown).
func responseOf(body string, n int64) *http.Response {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: n}
}

func readAll(t *testing.T, r io.Reader) {
	t.Helper()
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
}

package gateway_test

// A version read from the JSON request body (negotiate.body) through a
// real gateway listener, over HTTP/1.1 and h2c: the whole body always
// reaches the upstream as the client sent it.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/routecases"
)

// bodyPinYAML is the shared body cases' configuration with a short body
// deadline and a fallback buffer no larger than max_body.
const bodyPinYAML = "limits: { request_body_timeout: 500ms, fallback_body: 1KiB }\n" + routecases.BodyYAML

// echoUpstream is routecases.BodyHandler(version) telling started of each
// request as its handler begins (before it reads the body).
func echoUpstream(t *testing.T, version string, started chan<- struct{}) *httptest.Server {
	echo := routecases.BodyHandler(version)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if started != nil {
			select {
			case started <- struct{}{}:
			default:
			}
		}
		echo.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// protocols are the client protocols the cases run over.
func protocols() map[string]*http.Client {
	h2 := new(http.Protocols)
	h2.SetUnencryptedHTTP2(true)
	return map[string]*http.Client{
		"http1": {Transport: &http.Transport{}, Timeout: 10 * time.Second},
		"h2c":   {Transport: &http.Transport{Protocols: h2}, Timeout: 10 * time.Second},
	}
}

// TestBodyPin: the shared body cases (routecases.BodyPins) through the
// gateway over HTTP/1.1 and h2c, with a limits block of its own.
func TestBodyPin(t *testing.T) {
	v1 := httptest.NewServer(routecases.BodyHandler("v1"))
	t.Cleanup(v1.Close)
	v2 := httptest.NewServer(routecases.BodyHandler("v2"))
	t.Cleanup(v2.Close)
	tt := testutil.Start(t, bodyPinYAML, map[string]string{"V1": v1.URL, "V2": v2.URL})
	for proto, c := range protocols() {
		t.Run(proto, func(t *testing.T) { routecases.RunBodyPins(t, c, tt.URL) })
	}
}

// TestBodyPinStreamsBeyondBound: a body longer than max_body is not held
// for the decision: the upstream begins while the client still holds back
// the rest of it (the gateway kept no more than the bound), and gets it
// whole.
func TestBodyPinStreamsBeyondBound(t *testing.T) {
	started := make(chan struct{}, 1)
	v1, v2 := echoUpstream(t, "v1", started), echoUpstream(t, "v2", nil)
	tt := testutil.Start(t, bodyPinYAML, map[string]string{"V1": v1.URL, "V2": v2.URL})
	for proto, c := range protocols() {
		t.Run(proto, func(t *testing.T) {
			head := `{"api_version": "2", "pad": "` + strings.Repeat("x", 2<<10)
			pr, pw := io.Pipe()
			go func() {
				if _, err := io.WriteString(pw, head); err != nil {
					return
				}
				select { // the rest only once the upstream has begun
				case <-started:
				case <-time.After(8 * time.Second):
					pw.CloseWithError(io.ErrUnexpectedEOF)
					return
				}
				_, _ = io.WriteString(pw, `"}`)
				_ = pw.Close()
			}()
			req, err := http.NewRequest(http.MethodPost, tt.URL+"/orders", pr)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || resp.Header.Get("X-Upstream-Version") != "v1" || string(got) != head+`"}` {
				t.Fatalf("%d from %q, %d bytes; want 200 from v1 with the whole body (%d bytes)", resp.StatusCode,
					resp.Header.Get("X-Upstream-Version"), len(got), len(head)+2)
			}
		})
	}
}

// TestBodyPinStalledBodyIsTheClients: a JSON body that stalls while it is
// read for its version gets 408 from the body deadline, over HTTP/1.1
// and h2c, and counts against no version.
func TestBodyPinStalledBodyIsTheClients(t *testing.T) {
	v1, v2 := echoUpstream(t, "v1", nil), echoUpstream(t, "v2", nil)
	tt := testutil.Start(t, bodyPinYAML, map[string]string{"V1": v1.URL, "V2": v2.URL})
	for proto, c := range protocols() {
		t.Run(proto, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			go func() { _, _ = io.WriteString(pw, `{"api_version": "2", `) }() // then nothing
			req, err := http.NewRequest(http.MethodPost, tt.URL+"/orders", pr)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("HTTP/%d %d, want 408", resp.ProtoMajor, resp.StatusCode)
			}
		})
	}
	for _, v := range []string{"v1", "v2"} {
		if sum := tt.App.Stats.VersionWindow("orders", v, time.Minute, time.Time{}); sum.Requests != 0 || sum.Errors != 0 {
			t.Errorf("%s recorded %d requests, %d errors; a stalled client counts against no version", v, sum.Requests, sum.Errors)
		}
	}
	if got := testutil.Metric(t, tt, `turnout_limit_rejections_total{limit="body_timeout"}`); got != "2" {
		t.Errorf("body_timeout rejections %q, want 2", got)
	}
}

// TestBodyPinReplays: a body read to decide is replayed whole: to the
// fallback version when the chosen one cannot be reached, and to the
// mirror.
func TestBodyPinReplays(t *testing.T) {
	mirrored := make(chan string, 4)
	v1 := echoUpstream(t, "v1", nil)
	v3 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case mirrored <- string(b):
		default:
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(v3.Close)
	tt := testutil.Start(t, `
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{DEAD}}] }
  v3: { targets: [{{V3}}] }
services:
  orders:
    match: { path_prefix: /orders }
    negotiate: { sources: [header, body], body: /api_version }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 }, v3: { upstream: v3 } }
    rollout: { from: v1, to: v2, weight: 100 }
    fallback: true
    mirror: { to: v3, percent: 100, methods: [POST] }
`, map[string]string{"V1": v1.URL, "DEAD": "http://" + testutil.ClosedAddr(t), "V3": v3.URL})
	body := `{"name": "ada", "items": [1, 2, 3]}` // no version: the rollout sends it to v2
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post(tt.URL+"/orders", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Upstream-Version") != "v1" || string(got) != body {
		t.Fatalf("%d from %q: %s; want v1 (the fallback) with the whole body", resp.StatusCode, resp.Header.Get("X-Upstream-Version"), got)
	}
	select {
	case m := <-mirrored:
		if m != body {
			t.Errorf("the mirror got %q, want the whole body", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing mirrored")
	}
}

// TestBodyPinAdapted: a body read to decide is the body an adapter
// rewrites: {"api_version": "1", ...} pins v1, served by v2's upstream
// through a program that sees the whole body.
func TestBodyPinAdapted(t *testing.T) {
	v2 := echoUpstream(t, "v2", nil)
	tt := testutil.Start(t, `
upstreams:
  v2: { targets: [{{V2}}] }
services:
  orders:
    match: { path_prefix: /orders }
    negotiate: { sources: [header, body], body: /api_version }
    default: v2
    versions:
      v2: { upstream: v2 }
      v1:
        served_by: v2
        adapt: { request: '.body |= {version: .api_version, count: (.items | length)}' }
`, map[string]string{"V2": v2.URL})
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post(tt.URL+"/orders", "application/json", strings.NewReader(`{"api_version": "1", "items": [1, 2, 3]}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Served-Version") != "v1" || strings.ReplaceAll(string(got), " ", "") != `{"count":3,"version":"1"}` {
		t.Fatalf("%d served %q: %s; want v1 adapted from the whole body", resp.StatusCode, resp.Header.Get("X-Served-Version"), got)
	}
}

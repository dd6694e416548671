package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil/routecases"
	"github.com/turnout-gw/turnout/middleware"
)

// bodyVersions serves routecases.BodyHandler for every version of
// routecases.BodyYAML.
func bodyVersions() middleware.Versions {
	vs := middleware.Versions{}
	for _, v := range routecases.BodyVersions {
		vs[v] = routecases.BodyHandler(v)
	}
	return vs
}

// TestBodyPinInProcess: the shared body cases through the middleware:
// the version read from the body decides and the handler gets r.Body
// restored whole.
func TestBodyPinInProcess(t *testing.T) {
	h := start(t, routecases.BodyYAML, map[string]string{"V1": "http://127.0.0.1:1", "V2": "http://127.0.0.1:1"}, bodyVersions())
	routecases.RunBodyPins(t, &http.Client{Timeout: 10 * time.Second}, h.URL)
}

// TestBodyPinInProcessStalledBody: a JSON body that stalls while the
// middleware reads it for its version gets 408 from the server's read
// deadline and reaches no handler.
func TestBodyPinInProcessStalledBody(t *testing.T) {
	mw, err := middleware.New(middleware.YAML("body.yaml", []byte(strings.NewReplacer("{{V1}}", "http://127.0.0.1:1", "{{V2}}", "http://127.0.0.1:1").Replace(routecases.BodyYAML))),
		middleware.Versions{"v1": http.NotFoundHandler(), "v2": http.NotFoundHandler()}, middleware.WithLogger(quiet), middleware.WithoutWatch())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mw.Close() })
	srv := httptest.NewUnstartedServer(mw)
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = io.WriteString(pw, `{"api_version": "2", `) }() // then nothing
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post(srv.URL+"/orders", "application/json", pr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("%d %s, want 408", resp.StatusCode, b)
	}
}

package telemetry_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/observe"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/telemetry"
)

// gate is a writer that blocks every Write until opened.
type gate struct {
	open chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (g *gate) Write(p []byte) (int, error) {
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

// logRequest sends one request through the access log's tracer hook the
// way the proxy does.
func logRequest(tr observe.Tracer, path string) {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	svc, v := &route.Service{Name: "users"}, &route.Version{Name: "v1", Upstream: "users-v1"}
	d := &route.Decision{Service: svc, Version: v, Reason: route.ReasonDefault}
	_, span := tr.StartRequest(r, d)
	if a := span.StartAttempt(r, "users", "v1", "users-v1"); a != nil {
		a.End(&observe.Attempt{Status: 200})
	}
	res := &observe.Result{Decision: d, Served: v, Upstream: "users-v1", Status: 200, Duration: time.Millisecond}
	res.TraceID = span.TraceID()
	span.End(res)
}

// TestAccessLogDropsWhenFull: a writer that cannot keep up never blocks
// requests; what does not fit the queue is dropped and counted, the rest is
// written by Close.
func TestAccessLogDropsWhenFull(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	l := telemetry.NewAccessLog(g, nil, 4)
	tr := l.Tracer(nil)
	const sent = 50
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range sent {
			logRequest(tr, "/users/1")
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("requests blocked on a stuck access log writer")
	}
	dropped := l.Dropped()
	if dropped == 0 || dropped > sent-4 {
		t.Errorf("dropped %d of %d with a queue of 4 and a stuck writer", dropped, sent)
	}
	close(g.open)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(g.buf.String(), "\n")
	if uint64(lines)+dropped != sent {
		t.Errorf("%d lines written + %d dropped != %d sent", lines, dropped, sent)
	}
	logRequest(tr, "/users/after-close") // dropped, no panic
	if l.Dropped() != dropped+1 {
		t.Errorf("a line after Close was not counted as dropped")
	}
}

func TestAccessLogEscapesPaths(t *testing.T) {
	var buf bytes.Buffer
	l := telemetry.NewAccessLog(&buf, nil, 16)
	paths := []string{"/plain", "/q\"uote\\back", "/ctl\x01\x7f", "/bad\xffutf8", "/sep\u2028x", "/ünï"}
	for _, p := range paths {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path = p
		_, span := l.Tracer(nil).StartRequest(r, &route.Decision{})
		span.End(&observe.Result{Decision: &route.Decision{}, Status: 404})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(paths) {
		t.Fatalf("%d lines for %d requests:\n%s", len(lines), len(paths), buf.String())
	}
	for i, line := range lines {
		var got struct{ Path string }
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		want := strings.ToValidUTF8(paths[i], "\ufffd")
		if got.Path != want {
			t.Errorf("path %q logged as %q, want %q", paths[i], got.Path, want)
		}
		if strings.ContainsRune(line, '\u2028') {
			t.Errorf("line %q carries a raw U+2028", line)
		}
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log := telemetry.NewLogger(&buf, config.Log{Level: "warn", Format: "json"})
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "shown" || rec["level"] != "WARN" {
		t.Errorf("json logger wrote %q (%v)", buf.String(), err)
	}
	buf.Reset()
	log = telemetry.NewLogger(&buf, config.Log{Level: "debug", Format: "text"})
	log.Debug("detail", "k", "v")
	if got := buf.String(); !strings.Contains(got, "level=DEBUG msg=detail k=v") {
		t.Errorf("text logger wrote %q", got)
	}
	buf.Reset()
	telemetry.NewLogger(&buf, config.Log{}).Debug("hidden") // defaults to info
	if buf.Len() != 0 {
		t.Errorf("default level logged debug: %q", buf.String())
	}
}

// BenchmarkAccessLog is the request-side cost of the access log (the
// tracer hook and the queue hand-off) with a writer that discards.
func BenchmarkAccessLog(b *testing.B) {
	l := telemetry.NewAccessLog(io.Discard, nil, telemetry.AccessLogBuffer)
	b.Cleanup(func() { _ = l.Close() })
	tr := l.Tracer(nil)
	r := httptest.NewRequest(http.MethodGet, "/users/1", nil)
	v := &route.Version{Name: "v1", Upstream: "users-v1"}
	d := &route.Decision{Service: &route.Service{Name: "users"}, Version: v, Reason: route.ReasonDefault}
	res := &observe.Result{Decision: d, Served: v, Upstream: "users-v1", Status: 200, Duration: time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		_, span := tr.StartRequest(r, d)
		span.End(res)
	}
	b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
}

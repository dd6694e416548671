package telemetry_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
)

// accessConfig is tracingConfig with an access log next to the config file.
const accessConfig = "log: { access: access.log }\n" + tracingConfig

// accessLine is one access log line as a client of the format reads it.
type accessLine struct {
	Time     string  `json:"time"`
	Method   string  `json:"method"`
	Path     string  `json:"path"`
	Service  string  `json:"service"`
	Version  string  `json:"version"`
	Reason   string  `json:"reason"`
	Fallback bool    `json:"fallback"`
	Status   int     `json:"status"`
	Duration float64 `json:"duration"`
	Upstream string  `json:"upstream"`
	TraceID  string  `json:"trace_id"`
}

// TestAccessLogEndToEnd sends requests of every kind through a real
// Turnout with log.access set to a file, stops it, and reads one JSON line
// per request with the right fields; with tracing on, trace_id is the
// request's trace.
func TestAccessLogEndToEnd(t *testing.T) {
	for _, tracing := range []bool{false, true} {
		name := "tracing off"
		if tracing {
			name = "tracing on"
		}
		t.Run(name, func(t *testing.T) {
			setTracingEnv(t, "", "")
			if tracing {
				_, endpoint := startCollector(t, "http/protobuf")
				setTracingEnv(t, endpoint, "http/protobuf")
			}
			v1 := newServer(t, &headerRecorder{})
			tt := testutil.Start(t, accessConfig, map[string]string{"V1": v1, "DOWN": downURL(t)})
			c := &http.Client{Timeout: 5 * time.Second}

			type req struct {
				path    string
				headers []string
				want    accessLine
			}
			tp := "Traceparent: 00-" + incomingTrace + "-" + incomingSpan + "-01"
			reqs := []req{
				{"/users/1", nil, accessLine{Method: "GET", Path: "/users/1", Service: "users", Version: "v1", Reason: "default", Status: 200, Upstream: "users-v1"}},
				{"/users/2", []string{"X-Env: canary", tp}, accessLine{Method: "GET", Path: "/users/2", Service: "users", Version: "v1", Reason: "rule", Fallback: true, Status: 200, Upstream: "users-v1"}},
				{"/users/3", []string{"X-API-Version: v1"}, accessLine{Method: "GET", Path: "/users/3", Service: "users", Version: "v1", Reason: "pinned", Status: 200, Upstream: "users-v1"}},
				{"/users/4", []string{"X-API-Version: v7"}, accessLine{Method: "GET", Path: "/users/4", Service: "users", Status: 406}},
				{"/elsewhere/\"q\"", nil, accessLine{Method: "GET", Path: "/elsewhere/\"q\"", Status: 404}},
			}
			const repeat = 4
			for range repeat {
				for _, r := range reqs {
					if code, _, _ := testutil.Get(t, c, tt.URL+r.path, r.headers...); code != r.want.Status {
						t.Fatalf("GET %s: %d, want %d", r.path, code, r.want.Status)
					}
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tt.App.Stop(ctx); err != nil { // flushes the access log
				t.Fatalf("stop: %v", err)
			}

			f, err := os.Open(filepath.Join(filepath.Dir(tt.Path), "access.log"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			traceID := regexp.MustCompile(`^[0-9a-f]{32}$`)
			sc := bufio.NewScanner(f)
			n := 0
			for ; sc.Scan(); n++ {
				var got accessLine
				dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&got); err != nil {
					t.Fatalf("line %d %q: %v", n+1, sc.Text(), err)
				}
				want := reqs[n%len(reqs)].want
				if at, err := time.Parse(time.RFC3339Nano, got.Time); err != nil || time.Since(at) > time.Minute || time.Since(at) < 0 {
					t.Errorf("line %d: time %q is not a recent RFC 3339 time (%v)", n+1, got.Time, err)
				}
				if got.Duration <= 0 || got.Duration > 5 {
					t.Errorf("line %d: duration %v, want seconds in (0, 5]", n+1, got.Duration)
				}
				switch {
				case !tracing && got.TraceID != "":
					t.Errorf("line %d: trace_id %q with tracing off", n+1, got.TraceID)
				case tracing && want.Reason == "rule" && got.TraceID != incomingTrace:
					t.Errorf("line %d: trace_id %q, want the incoming trace %s", n+1, got.TraceID, incomingTrace)
				case tracing && !traceID.MatchString(got.TraceID):
					t.Errorf("line %d: trace_id %q is not a trace id", n+1, got.TraceID)
				}
				got.Time, got.Duration, got.TraceID = "", 0, ""
				if got != want {
					t.Errorf("line %d:\n got %+v\nwant %+v", n+1, got, want)
				}
			}
			if n != repeat*len(reqs) {
				t.Errorf("access log has %d lines, want %d", n, repeat*len(reqs))
			}
		})
	}
}

package mirror_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/mirror"
	"github.com/turnout-gw/turnout/internal/testutil"
)

// seen is one request an upstream received.
type seen struct {
	Method, Path, Mirror, Version, IdemKey string
	Body                                   string
}

// recorder is an upstream that answers with answer(r) as JSON and keeps
// every request it received.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newRecorder(t *testing.T, answer func(r *http.Request) string) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("upstream reading the body of %s %s: %v", r.Method, r.URL.Path, err)
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seen{r.Method, r.URL.RequestURI(), r.Header.Get("X-Turnout-Mirror"),
			r.Header.Get("X-Turnout-Version"), r.Header.Get("Idempotency-Key"), string(b)})
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer(r))
	}))
	t.Cleanup(rec.Close)
	return rec
}

// requests returns what the upstream received, mirrored copies only when
// mirrored is true, the others otherwise.
func (rec *recorder) requests(mirrored bool) []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []seen
	for _, s := range rec.reqs {
		if (s.Mirror == "1") == mirrored {
			out = append(out, s)
		}
	}
	return out
}

// report reads GET /api/v1/diffs/{service}.
func report(t testing.TB, tt *testutil.Turnout, service string) (int, mirror.Report) {
	t.Helper()
	resp, err := http.Get(tt.AdminURL + "/api/v1/diffs/" + service)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep mirror.Report
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, rep
}

// settled waits until the service's mirror has an outcome for n copies
// (compared or failed) and returns its report.
func settled(t *testing.T, tt *testutil.Turnout, service string, n uint64) mirror.Report {
	t.Helper()
	var rep mirror.Report
	testutil.Eventually(t, 20*time.Second, fmt.Sprintf("%d mirror outcomes", n), func() bool {
		_, rep = report(t, tt, service)
		return rep.Compared+rep.Error+rep.Dropped >= n && rep.Pending == 0
	})
	return rep
}

// send sends one request and fails the test unless it answers 200.
func send(t testing.TB, c *http.Client, method, url, body string, headers ...string) {
	t.Helper()
	req := testutil.NewRequest(t, method, url, headers...)
	if body != "" {
		req.Body = io.NopCloser(strings.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s = %d", method, url, resp.StatusCode)
	}
}

// metric returns the value of one sample line of the admin port's /metrics.
func metric(t testing.TB, tt *testutil.Turnout, line string) string {
	t.Helper()
	return testutil.Metric(t, tt, line)
}

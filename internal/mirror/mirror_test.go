package mirror_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
)

// mirrorYAML is one service, v1 serving and mirrored to v2; {{MIRROR}} is
// the rest of the mirror block.
const mirrorYAML = `
upstreams:
  v1: { targets: [{{V1}}] }
  v2: { targets: [{{V2}}] }
services:
  items:
    match: { path_prefix: /items }
    default: v1
    versions: { v1: { upstream: v1 }, v2: { upstream: v2 } }
    mirror: { to: v2, {{MIRROR}} }
`

// item answers like an item API: v2 renames one item in ten.
func item(version string) func(r *http.Request) string {
	return func(r *http.Request) string {
		id, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/items/"))
		name := fmt.Sprintf("item %d", id)
		if version == "v2" && id%10 == 0 {
			name = fmt.Sprintf("Item %d", id)
		}
		return fmt.Sprintf(`{"id":%d,"name":%q,"price":{"amount":%d,"currency":"EUR"}}`, id, name, 100+id)
	}
}

// TestMirrorDiffRate: a `to` that differs on 10 % of answers in one field
// is reported at 10 % ± 2 % for that path, with samples and metrics.
func TestMirrorDiffRate(t *testing.T) {
	v1, v2 := newRecorder(t, item("v1")), newRecorder(t, item("v2"))
	tt := testutil.Start(t, mirrorYAML, map[string]string{"V1": v1.URL, "V2": v2.URL, "MIRROR": "compare: {}"})
	c := &http.Client{Timeout: 10 * time.Second}
	const n = 500
	ids := rand.Perm(n)
	for _, id := range ids {
		send(t, c, "GET", fmt.Sprintf("%s/items/%d", tt.URL, id+1), "", "Traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	}
	rep := settled(t, tt, "items", n)
	t.Logf("compared %d, diff %d, diff_rate %.4f, dropped %d, error %d", rep.Compared, rep.Diff, rep.DiffRate, rep.Dropped, rep.Error)
	if rep.Error != 0 || rep.Dropped != 0 || rep.Compared != n {
		t.Fatalf("report = %+v", rep)
	}
	if rep.DiffRate < 0.08 || rep.DiffRate > 0.12 {
		t.Errorf("diff_rate = %.4f, want 0.10 ± 0.02", rep.DiffRate)
	}
	if len(rep.Endpoints) != 1 {
		t.Fatalf("endpoints = %+v", rep.Endpoints)
	}
	ep := rep.Endpoints[0]
	if ep.Endpoint != "GET /items/{id}" || len(ep.Paths) != 1 || ep.Paths[0].Path != "/name" || ep.Paths[0].Count != rep.Diff {
		t.Errorf("endpoint = %+v", ep)
	}
	if rate := float64(ep.Paths[0].Count) / float64(ep.Compared); rate < 0.08 || rate > 0.12 {
		t.Errorf("/name differs in %.4f of comparisons, want 0.10 ± 0.02", rate)
	}
	if len(rep.Samples) == 0 || len(rep.Samples) > 50 {
		t.Fatalf("%d samples", len(rep.Samples))
	}
	s := rep.Samples[0]
	if !strings.HasPrefix(s.Request, "GET /items/") || s.Paths[0] != "/name" || s.Primary.Version != "v1" ||
		s.Candidate.Version != "v2" || !strings.Contains(s.Candidate.Body, `"Item `) || s.TraceID != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("sample = %+v", s)
	}
	// Every copy was marked; the primary never was.
	if got := len(v2.requests(true)); got != n {
		t.Errorf("v2 received %d copies, want %d", got, n)
	}
	for _, s := range v2.requests(true) {
		if s.Version != "v2" {
			t.Fatalf("copy with X-Turnout-Version %q", s.Version)
		}
	}
	if got := len(v1.requests(true)); got != 0 {
		t.Errorf("v1 received %d requests marked as copies", got)
	}
	if got := metric(t, tt, `turnout_mirror_compared_total{result="diff",service="items"}`); got != strconv.FormatUint(rep.Diff, 10) {
		t.Errorf("diff metric = %q, want %d", got, rep.Diff)
	}
	if got := metric(t, tt, `turnout_mirror_compared_total{result="match",service="items"}`); got != strconv.FormatUint(rep.Match, 10) {
		t.Errorf("match metric = %q, want %d", got, rep.Match)
	}
}

// nonce answers with a field that changes on every call, whatever the version.
func nonce(r *http.Request) string {
	return fmt.Sprintf(`{"path":%q,"request_id":"%016x","items":[{"id":1,"at":%d},{"id":2,"at":%d}]}`,
		r.URL.Path, rand.Uint64(), rand.Int64(), rand.Int64())
}

// TestMirrorNoise: a field that differs between two calls of the same
// version is learned as noise and not counted; without noise: true it is.
func TestMirrorNoise(t *testing.T) {
	for _, tc := range []struct {
		name, mirror string
		noise        bool
	}{
		{"noise on", "compare: { noise: true }", true},
		{"noise off", "compare: {}", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v1, v2 := newRecorder(t, nonce), newRecorder(t, nonce)
			tt := testutil.Start(t, mirrorYAML, map[string]string{"V1": v1.URL, "V2": v2.URL, "MIRROR": tc.mirror})
			c := &http.Client{Timeout: 10 * time.Second}
			const n = 40
			for i := range n {
				send(t, c, "GET", fmt.Sprintf("%s/items/list?page=%d", tt.URL, i%3), "")
			}
			rep := settled(t, tt, "items", n)
			t.Logf("compared %d, diff %d, noisy %d, noise %v", rep.Compared, rep.Diff, rep.Noisy, rep.Noise)
			if !tc.noise {
				if rep.Diff != n || rep.DiffRate != 1 || len(rep.Noise) != 0 {
					t.Errorf("without noise detection: %+v", rep)
				}
				if got := len(v1.requests(true)); got != 0 {
					t.Errorf("v1 got %d second calls without noise detection", got)
				}
				return
			}
			if rep.Diff != 0 || rep.DiffRate != 0 || rep.Match != n || rep.Noisy != n {
				t.Errorf("noise counted as differences: %+v", rep)
			}
			if strings.Join(rep.Noise, ",") != "/items/*/at,/request_id" {
				t.Errorf("noise = %q", rep.Noise)
			}
			if ep := rep.Endpoints[0]; ep.Endpoint != "GET /items/list" || len(ep.Noise) != 2 || len(ep.Paths) != 0 {
				t.Errorf("endpoint = %+v", ep)
			}
			// The second primary call is a marked copy to v1.
			if got := len(v1.requests(true)); got != n {
				t.Errorf("v1 got %d second calls, want %d", got, n)
			}
		})
	}
}

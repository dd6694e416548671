package compare

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/turnout-gw/turnout/internal/config"
)

// primaryAnswer is what a primary returns for GET /orders/7: the same order
// each time, with a fresh request id, a fresh timestamp on each line and
// a random Date header.
func primaryAnswer(r *rand.Rand) *Response {
	body := fmt.Sprintf(`{"meta":{"request_id":"%x"},"order":{"id":7,"total":30,"lines":[{"sku":"a","ts":%d},{"sku":"b","ts":%d}]}}`,
		r.Uint64(), r.IntN(1e9), r.IntN(1e9))
	return &Response{Status: 200, Body: []byte(body), Header: http.Header{
		"Content-Type": {"application/json"},
		"Date":         {fmt.Sprint(r.IntN(1e6))},
	}}
}

func TestNoiseLearnsAndFilters(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	c := mustNew(t, &config.Compare{Headers: []string{"Date"}, Noise: true})
	n := NewNoise()
	const ep = "GET /orders/{id}"
	for range 3 {
		n.Learn(ep, primaryAnswer(r), primaryAnswer(r), c)
	}
	want := []string{"/meta/request_id", "/order/lines/*/ts", "header:Date"}
	if got := n.Paths(ep); !slices.Equal(got, want) {
		t.Fatalf("Paths = %q, want %q", got, want)
	}

	// The candidate has its own noise and one real regression: the total.
	cand := primaryAnswer(r)
	cand.Body = []byte(`{"meta":{"request_id":"zz"},"order":{"id":7,"total":31,"lines":[{"sku":"a","ts":1},{"sku":"b","ts":2}]}}`)
	res := c.Compare(primaryAnswer(r), cand)
	if len(res.Diffs) != 5 {
		t.Fatalf("Compare = %+v, want 5 differences", res)
	}
	kept, noisy := n.Filter(ep, res)
	if kept.Match || len(kept.Diffs) != 1 || kept.Diffs[0].Path != "/order/total" {
		t.Errorf("kept = %+v, want only /order/total", kept)
	}
	if len(noisy) != 4 {
		t.Errorf("noisy = %+v, want header:Date, request_id and both ts", noisy)
	}

	// Without the regression everything left is noise: a match.
	cand.Body = []byte(`{"meta":{"request_id":"zz"},"order":{"id":7,"total":30,"lines":[{"sku":"a","ts":1},{"sku":"b","ts":2}]}}`)
	if kept, _ := n.Filter(ep, c.Compare(primaryAnswer(r), cand)); !kept.Match || len(kept.Diffs) != 0 {
		t.Errorf("only noisy differences left: kept = %+v, want a match", kept)
	}

	// Another endpoint learned nothing: its differences are all kept.
	if kept, noisy := n.Filter("GET /other", res); !slices.Equal(kept.Diffs, res.Diffs) || noisy != nil {
		t.Errorf("unknown endpoint filtered something: kept %+v noisy %+v", kept, noisy)
	}
}

func TestNoiseCoversSubtreesNotWholeBody(t *testing.T) {
	n := NewNoise()
	// The primary sometimes has no /meta at all, and its HTML differs.
	n.Learn("e", jsonResp(`{"meta":{"id":1},"x":1}`), jsonResp(`{"meta":null,"x":1}`), nil)
	n.Learn("h", &Response{Status: 200, Body: []byte("<p>1</p>")}, &Response{Status: 200, Body: []byte("<p>2</p>")}, nil)
	if got := n.Paths("e"); !slices.Equal(got, []string{"/meta"}) {
		t.Fatalf("Paths(e) = %q", got)
	}
	res := Result{Diffs: []Diff{{Path: "/META/id"}, {Path: "/x"}, {Path: ""}, {Path: "status"}}}
	kept, noisy := n.Filter("e", res)
	if len(noisy) != 1 || noisy[0].Path != "/META/id" || len(kept.Diffs) != 3 {
		t.Errorf("Filter(e): kept %+v noisy %+v", kept.Diffs, noisy)
	}
	kept, noisy = n.Filter("h", res)
	if len(noisy) != 1 || noisy[0].Path != "" || len(kept.Diffs) != 3 {
		t.Errorf("Filter(h): a learned whole body covers only \"\": kept %+v noisy %+v", kept.Diffs, noisy)
	}
}

func TestNoiseKeepsOmittedUnmatched(t *testing.T) {
	n := NewNoise()
	n.Learn("e", jsonResp(`{"a":1}`), jsonResp(`{"a":2}`), nil)
	kept, _ := n.Filter("e", Result{Diffs: []Diff{{Path: "/a"}}, Omitted: 3})
	if kept.Match || kept.Omitted != 3 {
		t.Errorf("kept = %+v: omitted differences are unknown and must keep the result a diff", kept)
	}
}

func TestNoiseIsBounded(t *testing.T) {
	n := NewNoise()
	for i := range MaxNoiseEndpoints + 10 {
		n.Learn(fmt.Sprint("e", i), jsonResp(`{"a":1}`), jsonResp(`{"a":2}`), nil)
	}
	if got := len(n.eps); got != MaxNoiseEndpoints {
		t.Errorf("%d endpoints kept, want %d", got, MaxNoiseEndpoints)
	}
	if n.Paths(fmt.Sprint("e", MaxNoiseEndpoints)) != nil {
		t.Errorf("an endpoint past the cap was learned")
	}
	for i := range 3 {
		var a, b []byte
		for k := range MaxDiffs {
			a = fmt.Appendf(a, `,"k%d_%d":1`, i, k)
			b = fmt.Appendf(b, `,"k%d_%d":2`, i, k)
		}
		n.Learn("e0", jsonResp(`{"a":1`+string(a)+`}`), jsonResp(`{"a":2`+string(b)+`}`), nil)
	}
	if got := len(n.Paths("e0")); got != MaxNoisePaths {
		t.Errorf("%d paths kept, want %d", got, MaxNoisePaths)
	}
}

// TestNoiseConcurrent learns and filters from many goroutines (run with -race).
func TestNoiseConcurrent(t *testing.T) {
	n := NewNoise()
	c := mustNew(t, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 0))
			for i := range 200 {
				ep := fmt.Sprint("e", i%5)
				n.Learn(ep, primaryAnswer(r), primaryAnswer(r), c)
				kept, _ := n.Filter(ep, c.Compare(primaryAnswer(r), primaryAnswer(r)))
				_ = n.Paths(ep)
				if len(kept.Diffs) > 0 && i > 100 {
					t.Errorf("after learning, primary vs primary still differs: %+v", kept.Diffs)
					return
				}
			}
		})
	}
	wg.Wait()
}

package live

import (
	"fmt"
	"strings"
	"testing"

	"github.com/turnout-gw/turnout/internal/route"
)

// itemBody is a valid Item of about 1 KiB; brokenBody has the wrong type
// at /total.
var itemBody, brokenBody = func() (string, string) {
	tags := make([]string, 60)
	for i := range tags {
		tags[i] = fmt.Sprintf(`"tag-%05d"`, i)
	}
	list := strings.Join(tags, ",")
	return `{"id":3,"total":10.5,"tags":[` + list + `]}`, `{"id":3,"total":"ten","tags":[` + list + `]}`
}()

// BenchmarkValidate is the cost of validating one answer on a worker:
// matching the request to the from document's operation, decoding the
// body and validating it (and recording the outcome).
func BenchmarkValidate(b *testing.B) {
	for _, bc := range []struct{ name, body string }{{"valid", itemBody}, {"violation", brokenBody}} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixture(b, Options{})
			stopWorkers(f)
			tp := f.m.Start(request("GET", "/items/3"), &route.Decision{Service: f.svc, Version: f.v2}).(*tap)
			tp.Response(responseOf(bc.body, int64(len(bc.body))), f.v2)
			buf := make([]byte, 4096)
			for {
				if _, err := tp.Read(buf); err != nil {
					break
				}
			}
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				f.m.process(b.Context(), tp)
			}
		})
	}
}

// BenchmarkStart is the request path's cost: declining a request to a
// version with deprecated items that uses none of them, counting one that
// calls a deprecated operation, and copying an answer that is validated
// (Start, Response, the copy as the client reads, Done).
func BenchmarkStart(b *testing.B) {
	f := newFixture(b, Options{Queue: 1 << 20})
	stopWorkers(f)
	b.Run("plain", func(b *testing.B) {
		r, d := request("GET", "/items/3"), &route.Decision{Service: f.svc, Version: f.v1}
		b.ReportAllocs()
		for b.Loop() {
			f.m.Start(r, d)
		}
	})
	b.Run("deprecated", func(b *testing.B) {
		r, d := request("GET", "/items/legacy/3", "X-Client-ID", "alice"), &route.Decision{Service: f.svc, Version: f.v1}
		b.ReportAllocs()
		for b.Loop() {
			f.m.Start(r, d)
		}
	})
	b.Run("copy", func(b *testing.B) {
		r, d := request("GET", "/items/3"), &route.Decision{Service: f.svc, Version: f.v2}
		buf := make([]byte, 32<<10)
		b.ReportAllocs()
		for b.Loop() {
			tp := f.m.Start(r, d)
			rc := tp.Response(responseOf(itemBody, int64(len(itemBody))), f.v2)
			for {
				if _, err := rc.Read(buf); err != nil {
					break
				}
			}
			tp.Done(nil)
			if f.m.p.Queued() == f.m.o.Queue {
				b.StopTimer()
				for _, ok := f.m.p.Take(); ok; _, ok = f.m.p.Take() {
				}
				b.StartTimer()
			}
		}
	})
}

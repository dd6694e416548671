package negotiate

import (
	"fmt"
	"testing"
)

func BenchmarkRequestedHeader(b *testing.B) {
	n := mustNew(b, defaultOptions())
	r := newRequest("", [2]string{"X-API-Version", "v2"}, [2]string{"Accept", "application/json"})
	b.ReportAllocs()
	for b.Loop() {
		if v, _, ok, _ := n.Requested(r, ""); !ok || v != "v2" {
			b.Fatal(v)
		}
	}
}

func BenchmarkRequestedAccept(b *testing.B) {
	n := mustNew(b, defaultOptions())
	r := newRequest("", [2]string{"Accept", "text/html, application/vnd.example.v1+json;q=0.5, application/vnd.example.v2+json"})
	b.ReportAllocs()
	for b.Loop() {
		if v, _, ok, _ := n.Requested(r, ""); !ok || v != "2" {
			b.Fatal(v)
		}
	}
}

func BenchmarkResolve(b *testing.B) {
	r := NewResolver(testNames)
	for _, value := range []string{"v2", "2.1", "^2.1"} {
		b.Run(value, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Resolve(value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// bodyOf returns a JSON object of about size bytes: fields, then the
// version at /api_version, then more fields.
func bodyOf(size int) []byte {
	b := []byte(`{"id": 12345, "name": "Ada Lovelace", "tags": ["a", "b", "c"], "api_version": "2", "items": [`)
	for len(b) < size-40 {
		b = append(b, `{"sku": "x-1", "qty": 1, "ok": true}, `...)
	}
	return append(b, `{"sku": "end"}]}`...)
}

// BenchmarkRequestedBody is the body source's cost per request: finding
// /api_version in a JSON body of 1 KiB and 64 KiB (the default bound).
func BenchmarkRequestedBody(b *testing.B) {
	n := mustNew(b, Options{Sources: []Source{SourceHeader, SourceBody}, Header: "X-API-Version", Body: "/api_version", MaxBody: 1 << 20})
	for _, size := range []int{1 << 10, 64 << 10} {
		body := bodyOf(size)
		r := jsonRequest(string(body), "application/json")
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if v, _, ok, _ := n.RequestedIn(r, "", body); !ok || v != "2" {
					b.Fatal(v)
				}
			}
		})
	}
}

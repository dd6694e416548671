package negotiate

import "testing"

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

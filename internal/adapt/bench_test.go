package adapt

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// benchBody is a v2 list answer of about size bytes.
func benchBody(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"total": 0, "items": [`)
	for i := 0; b.Len() < size-120; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id": %d, "full_name": "User %d", "email": "u%d@example.com", "state": "ACTIVE", "created_at": "2026-01-02T03:04:05Z"}`, i, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkAdapt is a typical response transform (rename, drop, map an
// enum over a list) on a 1 KiB and a 64 KiB JSON answer: decode, run,
// encode.
func BenchmarkAdapt(b *testing.B) {
	p := mustCompile(b, `.body |= {users: [.items[] | {id, name: .full_name, active: (.state == "ACTIVE")}]}
		| .headers["x-adapted"] = "v1"`)
	for _, size := range []int{1 << 10, 64 << 10} {
		body := benchBody(size)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			a := testAdapter()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				r := Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
				if err := a.AdaptResponse(context.Background(), p, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package telemetry

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzAppendJSONString: every string encodes as a valid JSON string that
// decodes to what encoding/json makes of the same string.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "/users/1", "q\"\\", "\x00\x1f\x7f", "\xff\xfe", "\u2028\u2029", "ü€😀", "\xe2\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		if !json.Valid(b) {
			t.Fatalf("%q encoded as invalid JSON %s", s, b)
		}
		var got, want string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		ref, _ := json.Marshal(s)
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%q decodes as %q, encoding/json's as %q", s, got, want)
		}
	})
}

// BenchmarkAccessLine is the writer goroutine's encoding cost per line.
func BenchmarkAccessLine(b *testing.B) {
	e := &accessEntry{at: time.Now(), method: "GET", path: "/users/12345/orders", service: "users", version: "v2",
		reason: "rollout", upstream: "users-v2", traceID: "4bf92f3577b34da6a3ce929d0e0e4736", status: 200, duration: 1234567}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendAccessLine(buf[:0], e)
	}
}

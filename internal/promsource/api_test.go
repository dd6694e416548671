package promsource

import (
	"math"
	"strings"
	"testing"
)

// vector is an /api/v1/query answer with an instant vector of the given
// sample values (as Prometheus writes them: strings).
func vector(values ...string) string {
	var b strings.Builder
	b.WriteString(`{"status":"success","data":{"resultType":"vector","result":[`)
	for i, v := range values {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"metric":{"envoy_cluster_name":"c` + string(rune('0'+i)) + `"},"value":[1767225600.5,"` + v + `"]}`)
	}
	b.WriteString(`]}}`)
	return b.String()
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name  string
		code  int
		body  string
		value float64
		ok    bool
		err   string
	}{
		{"one sample", 200, vector("42.5"), 42.5, true, ""},
		{"no data", 200, vector(), 0, false, ""},
		{"NaN is no data", 200, vector("NaN"), 0, false, ""},
		{"+Inf latency", 200, vector("+Inf"), math.Inf(1), true, ""},
		{"scalar", 200, `{"status":"success","data":{"resultType":"scalar","result":[1767225600,"0.25"]}}`, 0.25, true, ""},
		{"warnings are ignored", 200, `{"status":"success","warnings":["w"],"data":{"resultType":"vector","result":[]}}`, 0, false, ""},
		{"two series", 200, vector("1", "2"), 0, false, "returned 2 series"},
		{"negative", 200, vector("-1"), 0, false, "never negative"},
		{"matrix", 200, `{"status":"success","data":{"resultType":"matrix","result":[]}}`, 0, false, "returned a matrix"},
		{"string", 200, `{"status":"success","data":{"resultType":"string","result":[1,"x"]}}`, 0, false, "returned a string"},
		{"unknown type", 200, `{"status":"success","data":{"resultType":"table","result":[]}}`, 0, false, `result type "table"`},
		{"bad vector", 200, `{"status":"success","data":{"resultType":"vector","result":{}}}`, 0, false, "reading the vector"},
		{"bad scalar", 200, `{"status":"success","data":{"resultType":"scalar","result":[1,2,3]}}`, 0, false, "reading the scalar"},
		{"server error", 400, `{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected identifier"}`, 0, false, "prometheus: bad_data: 1:5: parse error"},
		{"timeout error", 503, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`, 0, false, "timeout: query timed out"},
		{"error without message", 500, `{"status":"error"}`, 0, false, `answered 500 with status "error"`},
		{"not JSON, failed", 502, `<html>bad gateway</html>`, 0, false, "prometheus answered 502 Bad Gateway"},
		{"not JSON, ok", 200, `metrics here`, 0, false, "not a Prometheus API response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := parseResponse(tt.code, []byte(tt.body))
			var x float64
			var ok bool
			if err == nil {
				x, ok, err = number(v)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || ok != tt.ok || x != tt.value {
				t.Fatalf("got %v %v %v, want %v %v", x, ok, err, tt.value, tt.ok)
			}
		})
	}
}

// FuzzParseResponse: any answer is read into a number, no data or an
// error, never a panic, and a number is never negative or NaN.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{vector("1"), vector(), vector("NaN", "2"), `{"status":"error","error":"x"}`,
		`{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}`, `{}`, `[]`, `null`} {
		f.Add(200, []byte(s))
	}
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		v, err := parseResponse(code, body)
		if err != nil {
			return
		}
		x, ok, err := number(v)
		if err == nil && ok && (x < 0 || math.IsNaN(x)) {
			t.Fatalf("number %v from %q", x, body)
		}
	})
}

func TestQuoteAndDuration(t *testing.T) {
	for in, want := range map[string]string{`users`: `users`, `a"b`: `a\"b`, `a\b`: `a\\b`, "é": "é"} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %q, want %q", in, got, want)
		}
	}
	if got := promDuration(10_000_000_000); got != "10000ms" {
		t.Errorf("promDuration(10s) = %q", got)
	}
}

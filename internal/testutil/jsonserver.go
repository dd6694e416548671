package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// JSONBody is a 1 KiB JSON document, the answer the benchmark upstreams
// send (as bench/upstream does).
var JSONBody = `{"items":[` + strings.Repeat(`{"id":1234,"name":"abcdefgh"},`, 33) + `{"id":0}]}`

// JSONServer starts an upstream that answers every request with JSONBody
// as application/json. It is closed by t.Cleanup.
func JSONServer(t testing.TB) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, JSONBody)
	}))
	t.Cleanup(s.Close)
	return s
}

// Command upstream is the backend the whole-proxy benchmark (bench/run.sh)
// puts behind every proxy: it answers any request with the same 1 KiB JSON
// body and an X-Version header naming the version it was started as, so the
// benchmark can check where each proxy routed a request.
//
//	upstream -listen 127.0.0.1:9001 -version v1
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// bodySize is the size of every response body.
const bodySize = 1024

// makeBody returns a JSON object of exactly bodySize bytes naming version.
func makeBody(version string) []byte {
	head := fmt.Sprintf(`{"version":%q,"pad":"`, version)
	tail := "\"}\n"
	n := bodySize - len(head) - len(tail)
	if n < 0 {
		n = 0
	}
	return []byte(head + strings.Repeat("x", n) + tail)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:9001", "address to listen on")
	version := flag.String("version", "v1", "version reported in X-Version and the body")
	flag.Parse()

	body := makeBody(*version)
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hdr := w.Header()
		hdr.Set("Content-Type", "application/json")
		hdr.Set("Content-Length", length)
		hdr.Set("X-Version", *version)
		_, _ = w.Write(body)
	})
	srv := &http.Server{
		Addr:              *listen,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute, // keep-alive on: proxies reuse connections
	}
	log.Fatal(srv.ListenAndServe())
}

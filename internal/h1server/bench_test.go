package h1server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkServe compares h1server with net/http's server on the same
// handler (a 1 KiB answer with its Content-Length, as the proxy sends)
// over loopback keep-alive connections from a minimal raw client, so that
// the numbers are mostly the server's.
func BenchmarkServe(b *testing.B) {
	payload := []byte(strings.Repeat("x", 1024))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Header()["Content-Length"] = []string{"1024"}
		w.Write(payload)
	})
	serve := map[string]func(b *testing.B) string{
		"h1server": func(b *testing.B) string { _, addr := start(b, h, nil); return addr },
		"nethttp": func(b *testing.B) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := &http.Server{Handler: h}
			go srv.Serve(ln)
			b.Cleanup(func() { srv.Close() })
			return ln.Addr().String()
		},
	}
	for _, name := range []string{"h1server", "nethttp"} {
		b.Run(name, func(b *testing.B) {
			addr := serve[name](b)
			req := "GET /items?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\nAccept: */*\r\nX-Canary: always\r\n\r\n"
			b.ReportAllocs()
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer nc.Close()
				br := bufio.NewReader(nc)
				for pb.Next() {
					if _, err := io.WriteString(nc, req); err != nil {
						b.Error(err)
						return
					}
					if err := readRaw(br); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// readRaw reads one response with a Content-Length, without parsing more
// than that.
func readRaw(br *bufio.Reader) error {
	n := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := strings.CutPrefix(string(line), "Content-Length: "); ok {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	_, err := br.Discard(n)
	return err
}

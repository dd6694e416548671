// Package rawserver starts TCP servers on 127.0.0.1:0 that speak HTTP by
// hand, for tests of upstreams that misbehave in ways net/http's server
// will not: closing idle connections at chosen moments, resetting
// mid-body, answering before reading, sending huge heads.
package rawserver

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Start listens on 127.0.0.1:0 and runs serve on its own goroutine for
// every accepted connection, closing the connection when serve returns.
// It returns the listener's host:port. When the test ends it closes the
// listener and every open connection and waits for every serve to return.
func Start(t testing.TB, serve func(c net.Conn)) string {
	return StartWith(t, net.ListenConfig{}, serve)
}

// StartWith is Start with lc's socket options (lc.Control applies to the
// listener; accepted connections inherit buffer sizes from it).
func StartWith(t testing.TB, lc net.ListenConfig, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				serve(c)
				_ = c.Close()
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// HugeHead returns a serve function that reads one request and answers
// it with about size bytes of 1 KB header lines and an empty body,
// storing in wrote (when not nil) how many bytes of the head the client
// let it write before the connection failed or the head was done.
func HugeHead(size int64, wrote *atomic.Int64) func(c net.Conn) {
	line := "X-Pad: " + strings.Repeat("a", 1000) + "\r\n"
	return func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		var n int64
		write := func(s string) bool {
			m, err := io.WriteString(c, s)
			n += int64(m)
			return err == nil
		}
		ok := write("HTTP/1.1 200 OK\r\n")
		for ok && n < size {
			ok = write(line)
		}
		if ok {
			write("Content-Length: 0\r\n\r\n")
		}
		if wrote != nil {
			wrote.Store(n)
		}
	}
}

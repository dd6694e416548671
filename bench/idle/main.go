// Command idle measures what an idle keep-alive connection costs a server:
// it opens -warm connections that each carry one request (so that the
// server's pools, upstream connections and code pages are in use), reads
// the server's resident memory, opens -n more the same way, waits for the
// memory to settle, reads it again, and prints the growth per connection.
// Every connection stays open, idle, until the end; then all are closed.
//
//	idle -addr 127.0.0.1:8080 -pid 1234 -proto h1 -n 5000
//
// -proto h1 sends "GET / HTTP/1.1" and reads the answer; -proto h2c speaks
// HTTP/2 with prior knowledge: preface, SETTINGS, one GET stream read to
// its end, SETTINGS acknowledged. The server's memory is VmRSS from
// /proc/PID/status summed over PID and its descendants (nginx's workers).
// It prints one line, "IDLE key=value …", for bench/idle.sh.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

func main() {
	addr := flag.String("addr", "", "server address (host:port)")
	pid := flag.Int("pid", 0, "server process whose RSS (with its descendants') is measured")
	proto := flag.String("proto", "h1", "h1 or h2c")
	n := flag.Int("n", 5000, "idle connections measured")
	warm := flag.Int("warm", 200, "idle connections opened before the first reading")
	conc := flag.Int("c", 16, "connections opened at a time")
	settle := flag.Duration("settle", 3*time.Second, "longest wait for the RSS to settle")
	timeout := flag.Duration("timeout", 120*time.Second, "bound on the whole run")
	label := flag.String("label", "", "target name for the output")
	hold := flag.Duration("hold", 0, "keep the connections open this long after the output (for a look at the server)")
	flag.Parse()
	if *addr == "" || *pid <= 0 || (*proto != "h1" && *proto != "h2c") || *n <= 0 {
		fmt.Fprintln(os.Stderr, "idle: need -addr, -pid, -proto h1|h2c, -n > 0")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	open := func(k int) error {
		cs, err := openAll(ctx, *addr, *proto, k, *conc)
		conns = append(conns, cs...)
		return err
	}
	if err := open(*warm); err != nil {
		fail(err)
	}
	before, err := settled(ctx, *pid, *settle)
	if err != nil {
		fail(err)
	}
	start := time.Now()
	if err := open(*n); err != nil {
		fail(err)
	}
	opened := time.Since(start)
	after, err := settled(ctx, *pid, *settle)
	if err != nil {
		fail(err)
	}
	perConn := float64(after-before) * 1024 / float64(*n) / 1000 // KB (1,000 bytes)
	fmt.Printf("IDLE target=%s proto=%s n=%d before_kib=%d after_kib=%d kb_per_conn=%.2f open_s=%.1f\n",
		*label, *proto, *n, before, after, perConn, opened.Seconds())
	if *hold > 0 {
		select {
		case <-time.After(*hold):
		case <-ctx.Done():
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "idle:", err)
	os.Exit(1)
}

// openAll opens k connections, conc at a time, each after one request.
func openAll(ctx context.Context, addr, proto string, k, conc int) ([]net.Conn, error) {
	var (
		mu    sync.Mutex
		conns []net.Conn
		first error
		wg    sync.WaitGroup
	)
	next := make(chan struct{})
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				c, err := openOne(ctx, addr, proto)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if c != nil {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < k; i++ {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	if first == nil && len(conns) < k {
		first = fmt.Errorf("opened %d of %d connections: %w", len(conns), k, ctx.Err())
	}
	return conns, first
}

// openOne dials, makes one request, and returns the connection idle.
func openOne(ctx context.Context, addr, proto string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if proto == "h1" {
		err = oneH1(c)
	} else {
		err = oneH2(c)
	}
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

func oneH1(c net.Conn) error {
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: idle\r\nUser-Agent: idle\r\n\r\n"); err != nil {
		return fmt.Errorf("h1 write: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return fmt.Errorf("h1 read: %w", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("h1 body: %w", err)
	}
	if resp.StatusCode != http.StatusOK || resp.Close {
		return fmt.Errorf("h1: status %d, close %v: not a kept-alive 200", resp.StatusCode, resp.Close)
	}
	return nil
}

func oneH2(c net.Conn) error {
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		return fmt.Errorf("h2 preface: %w", err)
	}
	fr := http2.NewFramer(c, bufio.NewReader(c))
	if err := fr.WriteSettings(); err != nil {
		return fmt.Errorf("h2 settings: %w", err)
	}
	var hb strings.Builder
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "idle"}, {":path", "/"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte(hb.String()),
		EndStream: true, EndHeaders: true}); err != nil {
		return fmt.Errorf("h2 headers: %w", err)
	}
	status := ""
	dec := hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if f.Name == ":status" {
			status = f.Value
		}
	})
	for i := 0; i < 64; i++ { // a handful of frames answer one GET
		f, err := fr.ReadFrame()
		if err != nil {
			return fmt.Errorf("h2 read: %w", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := fr.WriteSettingsAck(); err != nil {
					return fmt.Errorf("h2 settings ack: %w", err)
				}
			}
		case *http2.HeadersFrame:
			if _, err := dec.Write(f.HeaderBlockFragment()); err != nil {
				return fmt.Errorf("h2 hpack: %w", err)
			}
			if f.StreamEnded() {
				return h2Done(status)
			}
		case *http2.DataFrame:
			if f.StreamEnded() {
				return h2Done(status)
			}
		case *http2.GoAwayFrame:
			return fmt.Errorf("h2: goaway %v", f.ErrCode)
		case *http2.RSTStreamFrame:
			return fmt.Errorf("h2: stream reset %v", f.ErrCode)
		}
	}
	return errors.New("h2: no end of stream in 64 frames")
}

func h2Done(status string) error {
	if status != "200" {
		return fmt.Errorf("h2: status %q", status)
	}
	return nil
}

// settled reads the RSS until two readings 500 ms apart agree within
// 0.5 %, or until limit, and returns the last.
func settled(ctx context.Context, pid int, limit time.Duration) (int64, error) {
	end := time.Now().Add(limit)
	prev, err := rssKiB(pid)
	if err != nil {
		return 0, err
	}
	for time.Now().Before(end) && ctx.Err() == nil {
		time.Sleep(500 * time.Millisecond)
		cur, err := rssKiB(pid)
		if err != nil {
			return 0, err
		}
		d := cur - prev
		if d < 0 {
			d = -d
		}
		prev = cur
		if d*200 <= cur {
			break
		}
	}
	return prev, nil
}

// rssKiB sums VmRSS over pid and its descendants.
func rssKiB(pid int) (int64, error) {
	var total int64
	todo := []int{pid}
	for i := 0; i < len(todo) && i < 256; i++ {
		p := todo[i]
		kib, err := vmRSS(p)
		if err != nil {
			if p == pid {
				return 0, err
			}
			continue
		}
		total += kib
		todo = append(todo, children(p)...)
	}
	return total, nil
}

func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("read status: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("pid %d: no VmRSS", pid)
}

func children(pid int) []int {
	var out []int
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

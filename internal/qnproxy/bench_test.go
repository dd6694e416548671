package qnproxy

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/qn"
)

// benchFrames sends b.N DATA frames (64-byte body) from a device of version
// dev to addr, pipelined, and reads the b.N ACKs; it reports frames/s
// (DATA + ACK round trips per second).
func benchFrames(b *testing.B, addr string, dev qn.Version) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	body := make([]byte, 64)
	var frame []byte
	done := make(chan error, 1)
	go func() {
		r := qn.NewReader(c, qn.Decoder{})
		for i := 0; i < b.N; i++ {
			f, err := r.Next()
			if err != nil {
				done <- err
				return
			}
			if f.Type != qn.TypeAck {
				done <- qn.ErrType
				return
			}
		}
		done <- nil
	}()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	w := bufio.NewWriterSize(c, 64<<10)
	for i := 0; i < b.N; i++ {
		frame, err = qn.Encode(frame[:0], qn.Header{Version: dev, Type: qn.TypeData, Seq: uint32(i % 65536)},
			[]qn.Field{{NS: 0, ID: 1, Ver: 1, Value: []byte("bench-device")}, {NS: 0, ID: 4, Ver: 1, Value: body}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(frame); err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 {
			_ = w.Flush()
		}
	}
	_ = w.Flush()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
}

func BenchmarkFrames(b *testing.B) {
	b.Run("direct-v2", func(b *testing.B) {
		s := newServer(b, "v2", qn.V2)
		benchFrames(b, s.ln.Addr().String(), qn.V2)
	})
	b.Run("gateway-v2", func(b *testing.B) {
		s := newServer(b, "v2", qn.V2)
		f := newFixture(b, oneVersion(qn.V2, s.addr(), "", ""), nil)
		benchFrames(b, f.addr("dev"), qn.V2)
	})
	b.Run("gateway-v1-translated", func(b *testing.B) {
		s := newServer(b, "v2", qn.V2)
		f := newFixture(b, oneVersion(qn.V2, s.addr(), "", ", translate: true"), nil)
		benchFrames(b, f.addr("dev"), qn.V1)
	})
}

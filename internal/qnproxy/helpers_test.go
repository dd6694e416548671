package qnproxy

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/internal/testutil/wait"
	"github.com/turnout-gw/turnout/qn"
)

// server is a QN server written for the tests: it answers every DATA
// frame with an ACK (a NACK when nack is set, an ERROR when errFrames is
// set on a v2 server) of the same sequence
// number, in its own version, carrying kind = its name plus the fields of
// reply. It keeps a copy of every frame it receives.
type server struct {
	name string
	ver  qn.Version
	ln   net.Listener
	nack atomic.Bool
	// errFrames makes a v2 server answer with ERROR frames.
	errFrames atomic.Bool
	// silent makes the server answer nothing.
	silent atomic.Bool
	reply  []qn.Field // extra fields of every ACK

	mu     sync.Mutex
	frames [][]byte
	conns  int
	wg     sync.WaitGroup
	// extra, when set, is sent after each ACK (raw bytes).
	extra func(seq uint32) []byte
}

func newServer(t testing.TB, name string, ver qn.Version) *server {
	t.Helper()
	return newServerAt(t, name, ver, "127.0.0.1:0")
}

// newServerAt is newServer listening on addr.
func newServerAt(t testing.TB, name string, ver qn.Version, addr string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{name: name, ver: ver, ln: ln}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() { _ = ln.Close(); s.wg.Wait() })
	return s
}

func (s *server) addr() string { return "tcp://" + s.ln.Addr().String() }

func (s *server) serve() {
	defer s.wg.Done()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		conns = append(conns, c)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			r := qn.NewReader(c, qn.Decoder{})
			var out []byte
			for {
				f, err := r.Next()
				if err != nil {
					return
				}
				if f.Version != s.ver {
					panic(fmt.Sprintf("server %s (%v) got a %v frame", s.name, s.ver, f.Version))
				}
				s.mu.Lock()
				s.frames = append(s.frames, append([]byte(nil), f.Raw...))
				s.mu.Unlock()
				if f.Type != qn.TypeData || s.silent.Load() {
					continue
				}
				typ := qn.TypeAck
				switch {
				case s.errFrames.Load():
					typ = qn.TypeError
				case s.nack.Load():
					typ = qn.TypeNack
				}
				fields := append([]qn.Field{{NS: 0, ID: 3, Ver: 1, Value: []byte(s.name)}}, s.reply...)
				out, err = qn.Encode(out[:0], qn.Header{Version: s.ver, Type: typ, Seq: f.Seq}, fields)
				if err != nil {
					panic(err)
				}
				if s.extra != nil {
					out = append(out, s.extra(f.Seq)...)
				}
				if _, err := c.Write(out); err != nil {
					return
				}
			}
		}()
	}
}

func (s *server) received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.frames...)
}

// device is a QN device simulator on one connection.
type device struct {
	t   testing.TB
	c   net.Conn
	r   *qn.Reader
	ver qn.Version
	id  string
	seq uint32
	buf []byte
}

func dialDevice(t testing.TB, addr string, ver qn.Version, id string) *device {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &device{t: t, c: c, r: qn.NewReader(c, qn.Decoder{}), ver: ver, id: id}
}

// send writes a DATA frame with device_id and the given extra fields.
func (d *device) send(extra ...qn.Field) uint32 {
	d.t.Helper()
	d.seq++
	fields := []qn.Field{{NS: 0, ID: 1, Ver: 1, Value: []byte(d.id)}}
	fields = append(fields, extra...)
	var err error
	d.buf, err = qn.Encode(d.buf[:0], qn.Header{Version: d.ver, Type: qn.TypeData, Seq: d.seq}, fields)
	if err != nil {
		d.t.Fatal(err)
	}
	_ = d.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := d.c.Write(d.buf); err != nil {
		d.t.Fatal(err)
	}
	return d.seq
}

// next reads the next frame (a copy of its bytes) or fails the test.
func (d *device) next() (qn.Frame, error) {
	_ = d.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := d.r.Next()
	if err != nil {
		return qn.Frame{}, err
	}
	raw := append([]byte(nil), f.Raw...)
	g, _, err := qn.Parse(raw)
	return g, err
}

// roundTrip sends DATA and returns the name of the server that answered
// and the answer's type.
func (d *device) roundTrip() (string, qn.Type) {
	d.t.Helper()
	seq := d.send()
	f, err := d.next()
	if err != nil {
		d.t.Fatalf("device %s: reading the answer: %v", d.id, err)
	}
	if f.Version != d.ver || f.Seq != seq {
		d.t.Fatalf("device %s: answer %v seq %d, want version %v seq %d", d.id, f.Version, f.Seq, d.ver, seq)
	}
	k, _ := f.Get(0, 3)
	return string(k.Value), f.Type
}

// fixture is a manager over a configuration whose table the test can swap.
type fixture struct {
	m     *Manager
	tab   atomic.Pointer[route.Table]
	stats *stats.Registry
	obs   *recorder
	reads atomic.Int64 // the manager's reads of the table: one per watcher tick and per new connection
}

func newFixture(t testing.TB, yaml string, reg *qn.Registry) *fixture {
	t.Helper()
	return newFixtureAt(t, yaml, reg, time.Now)
}

// newFixtureAt is newFixture with the manager's clock.
func newFixtureAt(t testing.TB, yaml string, reg *qn.Registry, now func() time.Time) *fixture {
	t.Helper()
	cfg, err := config.Parse("qn.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := route.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{stats: stats.NewRegistry(nil), obs: &recorder{dropped: map[string]int{}, rejected: map[string]int{}, frames: map[string]int{}}}
	f.tab.Store(tab)
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.Default()
	}
	table := func() *route.Table { f.reads.Add(1); return f.tab.Load() }
	f.m, err = New(Options{Table: table, Stats: f.stats, Observer: f.obs, Registry: reg, Tick: 10 * time.Millisecond, Log: log, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.m.Update(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.m.Close(t.Context()) })
	return f
}

func (f *fixture) addr(service string) string { return f.m.Addr(service).String() }

// waitTicks waits until the watcher has completed at least one tick that
// began after the call (with the table and the clock of then): with no
// connection opening meanwhile, every read of the table is a tick, and a
// tick's review ends before the next one reads.
func (f *fixture) waitTicks(t testing.TB) {
	t.Helper()
	from := f.reads.Load()
	waitFor(t, "two watcher ticks", func() bool { return f.reads.Load() >= from+2 })
}

func (f *fixture) setWeight(t testing.TB, service string, w float64) {
	t.Helper()
	nt, err := f.tab.Load().WithWeight(service, w)
	if err != nil {
		t.Fatal(err)
	}
	f.tab.Store(nt)
}

// recorder is an Observer that remembers.
type recorder struct {
	mu       sync.Mutex
	conns    int
	frames   map[string]int // version/type
	dropped  map[string]int
	rejected map[string]int
}

func (r *recorder) Connected(service, version string) { r.mu.Lock(); r.conns++; r.mu.Unlock() }
func (r *recorder) FrameCounter(service, version string) func(qn.Type) {
	return func(t qn.Type) { r.mu.Lock(); r.frames[version+"/"+t.String()]++; r.mu.Unlock() }
}
func (r *recorder) Dropped(service, field string, n int) {
	r.mu.Lock()
	r.dropped[field] += n
	r.mu.Unlock()
}
func (r *recorder) Rejected(service, reason string) { r.mu.Lock(); r.rejected[reason]++; r.mu.Unlock() }
func (r *recorder) get(m map[string]int, k string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return m[k]
}

// waitFor is wait.For with a deadline of 5s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	wait.For(t, 5*time.Second, what, cond)
}

// closedByPeer reports whether reading c ends (EOF or reset) within 5s.
func closedByPeer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.ReadAll(c)
	var ne net.Error
	return err == nil || !(errors.As(err, &ne) && ne.Timeout())
}

func yamlf(format string, args ...any) string {
	return strings.TrimSpace(fmt.Sprintf(format, args...)) + "\n"
}

// oneVersion is the configuration of one qn service whose only version,
// named after the QN version it speaks, has the upstream dev-NAME with
// targets (a YAML flow list's items) plus upstreamExtra keys, and
// versionExtra keys of its own (each extra "" or ", key: value ...").
func oneVersion(speaks qn.Version, targets, upstreamExtra, versionExtra string) string {
	v := speaks.String()
	return yamlf(`
upstreams:
  dev-%[1]s: { targets: [%[2]s]%[3]s }
services:
  dev:
    protocol: qn
    listen: 127.0.0.1:0
    default: %[1]s
    versions:
      %[1]s: { upstream: dev-%[1]s, speaks: %[1]s%[4]s }
`, v, targets, upstreamExtra, versionExtra)
}

// translatingV2 is the configuration of one qn service whose only version
// is the v2 server s, translating for v1 devices.
func translatingV2(s *server) string { return oneVersion(qn.V2, s.addr(), "", ", translate: true") }

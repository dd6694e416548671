package qnproxy

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/stats"
	"github.com/turnout-gw/turnout/qn"
)

// maxPending bounds the DATA frames awaiting an answer that a connection
// tracks for latency; beyond it new DATA frames go untimed.
const maxPending = 4096

// upstreamSpeaks returns the QN version version v's upstream speaks.
func upstreamSpeaks(v *route.Version) qn.Version {
	if v.Speaks == config.SpeaksV1 {
		return qn.V1
	}
	return qn.V2
}

// session is one device connection and its upstream connection.
type session struct {
	l                *listener
	dev, up          net.Conn
	devVer, upVer    qn.Version
	service, version string
	upstream         string
	deviceID         string
	bucket           uint64
	idle             time.Duration
	dec              qn.Decoder
	key              stats.Key
	vc               *versionCounters
	count            func(qn.Type)

	devMu, upMu sync.Mutex // one writer at a time per connection
	// devBW, upBW buffer the frames each pump forwards until it is about
	// to read again (see flushReader); devWD, upWD: when each connection's
	// write deadline was last set. Under devMu, upMu.
	devBW, upBW *bufio.Writer
	devWD, upWD time.Time

	pmu     sync.Mutex
	pending map[uint32]time.Time // DATA seq -> when it was forwarded
	// answerTO is how long a forwarded DATA frame may wait for the
	// server's ACK, NACK or ERROR before it counts as a failure.
	answerTO time.Duration

	once sync.Once

	// displacedAt is when the table stopped sending the device to
	// version (zero while it still does); the watcher's alone.
	displacedAt time.Time
}

func (s *session) close() {
	s.once.Do(func() {
		_ = s.dev.Close()
		if s.up != nil {
			_ = s.up.Close()
		}
	})
}

// rejectReason classifies a read error of a device's frame.
func rejectReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return RejectTimeout
	case errors.Is(err, qn.ErrNotQN):
		return RejectNotQN
	case errors.Is(err, qn.ErrTooLarge):
		return RejectTooLarge
	}
	return RejectMalformed
}

// isQNError reports whether err is a decoding error (rather than the
// connection ending).
func isQNError(err error) bool {
	var qe *qn.Error
	return errors.As(err, &qe) || errors.Is(err, qn.ErrNotQN) || errors.Is(err, qn.ErrTooLarge) ||
		errors.Is(err, qn.ErrMalformed) || errors.Is(err, qn.ErrChecksum) || errors.Is(err, qn.ErrType) ||
		errors.Is(err, qn.ErrFlags) || errors.Is(err, qn.ErrTooManyFields)
}

// handle serves one device connection from its first frame to its end.
func (l *listener) handle(c net.Conn) {
	m := l.m
	log := m.log.With("service", l.service, "remote", c.RemoteAddr().String())
	opts := l.options()
	if opts == nil {
		_ = c.Close()
		return
	}
	dec := qn.Decoder{MaxPayload: int(opts.MaxFrame)}
	_ = c.SetReadDeadline(m.now().Add(opts.FirstFrameTimeout.D()))
	fr := &flushReader{Reader: c}
	dr := qn.NewReader(fr, dec)
	first, err := dr.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			_ = c.Close()
			return
		}
		reason := rejectReason(err)
		m.obs.Rejected(l.service, reason)
		log.Warn("qn connection closed before routing", "reason", reason, "error", err)
		_ = c.Close()
		return
	}
	tab := m.o.Table()
	svc := tab.Service(l.service)
	deviceID := ""
	if f, ok := first.Get(0, 1); ok {
		deviceID = string(f.Value)
	}
	bucket := DeviceBucket(svc, deviceID, randBucket())
	v, reason := Pick(svc, first.Version, bucket)
	if v == nil {
		m.obs.Rejected(l.service, RejectNoVersion)
		log.Warn("qn connection refused: no version speaks or translates the device's protocol", "device_version", first.Version.String(), "device_id", deviceID)
		nack(c, first.Version, first.Seq)
		_ = c.Close()
		return
	}
	s := &session{
		l: l, dev: c, devVer: first.Version, upVer: upstreamSpeaks(v), service: l.service, version: v.Name, upstream: v.Upstream,
		deviceID: deviceID, bucket: bucket, idle: opts.IdleTimeout.D(), dec: dec,
		key:     stats.Key{Service: l.service, Version: v.Name, Upstream: v.Upstream},
		vc:      m.counters.of(l.service, v.Name),
		pending: map[uint32]time.Time{}, answerTO: answerTimeout(tab.Config.Upstreams[v.Upstream]),
	}
	up, err := l.dial(tab, l.service, v.Name, v.Upstream, opts.ConnectTimeout.D())
	if err != nil {
		m.obs.Rejected(l.service, RejectUpstream)
		log.Warn("qn upstream unreachable", "version", v.Name, "upstream", v.Upstream, "error", err)
		nack(c, first.Version, first.Seq)
		_ = c.Close()
		return
	}
	s.up = up
	s.devBW, s.upBW = bufio.NewWriterSize(c, frameBuffer), bufio.NewWriterSize(up, frameBuffer)
	fr.flush = func() error { return s.flush(s.up, &s.upMu) }
	if !l.add(s) {
		s.close()
		return
	}
	defer l.remove(s)
	s.vc.connections.Add(1)
	s.vc.active.Add(1)
	defer s.vc.active.Add(-1)
	m.obs.Connected(l.service, v.Name)
	s.count = m.obs.FrameCounter(l.service, v.Name)
	log.Debug("qn connection routed", "version", v.Name, "reason", reason.String(), "device_version", first.Version.String(),
		"server_version", s.upVer.String(), "device_id", deviceID)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.downstream(log)
	}()
	s.upstreamPump(dr, first, log)
	wg.Wait()
}

// nack answers seq with a NACK in version v (best effort, before closing).
func nack(c net.Conn, v qn.Version, seq uint32) {
	if v == qn.V1 && seq > qn.MaxSeqV1 {
		return
	}
	b, err := qn.Encode(nil, qn.Header{Version: v, Type: qn.TypeNack, Seq: seq}, nil)
	if err != nil {
		return
	}
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(b)
}

// frameBuffer is the size of the buffers that gather the frames a pump
// forwards between two reads.
const frameBuffer = 16 << 10

// write sends one whole frame on c (s.dev or s.up) under mu. A pump's own
// frames wait in c's buffer until it is about to read again (later is
// false): one system call then carries every frame it got from one read.
// A frame one pump sends on the other's connection (a NACK) goes at once.
func (s *session) write(c net.Conn, mu *sync.Mutex, b []byte, later bool) error {
	mu.Lock()
	defer mu.Unlock()
	bw, last := s.outbound(c)
	s.refresh(c.SetWriteDeadline, last)
	if _, err := bw.Write(b); err != nil || later {
		return err
	}
	return bw.Flush()
}

// outbound is c's write buffer and when its write deadline was last set
// (both under c's mutex).
func (s *session) outbound(c net.Conn) (*bufio.Writer, *time.Time) {
	if c == s.dev {
		return s.devBW, &s.devWD
	}
	return s.upBW, &s.upWD
}

// flush sends what waits in c's buffer.
func (s *session) flush(c net.Conn, mu *sync.Mutex) error {
	mu.Lock()
	defer mu.Unlock()
	bw, last := s.outbound(c)
	if bw.Buffered() == 0 {
		return nil
	}
	s.refresh(c.SetWriteDeadline, last)
	return bw.Flush()
}

// flushReader is what a pump's qn.Reader reads: before each read of the
// connection, which may wait, it sends the frames the pump has forwarded
// so far (flush; nil before the session is set up).
type flushReader struct {
	io.Reader
	flush func() error
}

func (r *flushReader) Read(p []byte) (int, error) {
	if r.flush != nil {
		if err := r.flush(); err != nil {
			return 0, err
		}
	}
	return r.Reader.Read(p)
}

// refresh moves a deadline to idle_timeout from now when it was last set
// more than an eighth of idle_timeout ago: a connection is closed after
// between 7/8 and all of idle_timeout of silence, and a busy connection
// does not reset a timer for every frame.
func (s *session) refresh(set func(time.Time) error, last *time.Time) {
	if s.idle <= 0 {
		if !last.IsZero() || set == nil {
			return
		}
		_ = set(time.Time{})
		*last = time.Unix(1, 0)
		return
	}
	now := time.Now()
	if now.Sub(*last) < s.idle/8 {
		return
	}
	*last = now
	_ = set(now.Add(s.idle))
}

// translate returns f in version to: f.Raw itself when no translation is
// needed, else the translated frame appended to buf[:0]. A refused frame
// returns a *qn.RefusedError.
func (s *session) translate(buf []byte, f *qn.Frame, to qn.Version, loss *qn.Loss) ([]byte, error) {
	if f.Version == to {
		return f.Raw, nil
	}
	if to == qn.V2 {
		return qn.ToV2(buf[:0], f)
	}
	loss.Reset()
	out, err := qn.ToV1(buf[:0], f, s.l.m.reg, loss)
	if err != nil {
		return nil, err
	}
	if n := len(loss.Dropped); n > 0 {
		s.vc.dropped.Add(int64(n))
		for _, d := range loss.Dropped {
			s.l.m.obs.Dropped(s.service, s.fieldName(d), 1)
		}
	}
	// v1 frames have no flags: a v2 frame's ack-requested or exactly-once
	// bit is lost on the way, counted like a dropped field.
	for _, fl := range lostFlags {
		if loss.Flags&fl.bit != 0 {
			s.vc.droppedFlags.Add(1)
			s.l.m.obs.Dropped(s.service, fl.name, 1)
		}
	}
	return out, nil
}

// lostFlags names the v2 flag bits in the field label of
// turnout_qn_translation_dropped_fields_total.
var lostFlags = [...]struct {
	bit  qn.Flags
	name string
}{{qn.FlagAckRequested, "flag:ack_requested"}, {qn.FlagExactlyOnce, "flag:exactly_once"}}

// Unregistered is the field label of dropped fields that are not in the
// registry (one label for all of them, so the metric stays bounded).
const Unregistered = "unregistered"

// fieldName is the registered name of a dropped field, or Unregistered.
func (s *session) fieldName(d qn.Drop) string {
	if def, ok := s.l.m.reg.LookupID(d.NS, d.ID); ok {
		return def.Name
	}
	return Unregistered
}

// upstreamPump carries the device's frames to the server, starting with
// the first frame already read.
func (s *session) upstreamPump(dr *qn.Reader, f qn.Frame, log *slog.Logger) {
	defer s.close()
	var buf []byte
	var loss qn.Loss
	var rd time.Time
	for {
		s.count(f.Type)
		s.vc.frames.Add(1)
		out, err := s.translate(buf, &f, s.upVer, &loss)
		if err != nil {
			// Refused: NACK the sender (the device), in its version.
			s.vc.refused.Add(1)
			log.Debug("qn frame refused by translation; NACK to the device", "seq", f.Seq, "error", err)
			if nb, e := qn.Encode(buf[:0], qn.Header{Version: s.devVer, Type: qn.TypeNack, Seq: f.Seq}, nil); e == nil {
				if s.write(s.dev, &s.devMu, nb, false) != nil {
					return
				}
			}
		} else {
			if f.Type == qn.TypeData {
				s.vc.data.Add(1)
				s.pmu.Lock()
				if len(s.pending) < maxPending {
					s.pending[f.Seq] = s.l.m.now()
				}
				s.pmu.Unlock()
			}
			if &out[0] != &f.Raw[0] {
				buf = out
			}
			if s.write(s.up, &s.upMu, out, true) != nil {
				return
			}
		}
		s.refresh(s.dev.SetReadDeadline, &rd)
		var err2 error
		f, err2 = dr.Next()
		if err2 != nil {
			if isQNError(err2) {
				reason := rejectReason(err2)
				s.l.m.obs.Rejected(s.service, reason)
				log.Warn("qn connection closed: malformed frame from the device", "reason", reason, "error", err2, "version", s.version)
			} else if errors.Is(err2, os.ErrDeadlineExceeded) {
				s.l.m.obs.Rejected(s.service, RejectTimeout)
				log.Debug("qn connection closed: device idle", "version", s.version)
			}
			return
		}
	}
}

// downstream carries the server's frames to the device and matches its
// answers with the device's DATA frames.
func (s *session) downstream(log *slog.Logger) {
	defer s.close()
	ur := qn.NewReader(&flushReader{Reader: s.up, flush: func() error { return s.flush(s.dev, &s.devMu) }}, s.dec)
	var buf []byte
	var loss qn.Loss
	var rd time.Time
	for {
		s.refresh(s.up.SetReadDeadline, &rd)
		f, err := ur.Next()
		if err != nil {
			if isQNError(err) {
				s.l.m.obs.Rejected(s.service, RejectUpstreamQ)
				s.record(true, 0)
				log.Warn("qn connection closed: malformed frame from the server", "error", err, "version", s.version, "upstream", s.upstream)
			}
			return
		}
		s.count(f.Type)
		s.vc.frames.Add(1)
		switch f.Type {
		case qn.TypeAck, qn.TypeNack, qn.TypeError:
			failed := f.Type != qn.TypeAck
			switch f.Type {
			case qn.TypeAck:
				s.vc.acks.Add(1)
			case qn.TypeNack:
				s.vc.nacks.Add(1)
			default:
				s.vc.errors.Add(1)
			}
			s.pmu.Lock()
			sent, ok := s.pending[f.Seq]
			if ok {
				delete(s.pending, f.Seq)
			}
			s.pmu.Unlock()
			switch {
			case ok:
				s.record(failed, s.l.m.now().Sub(sent))
			case failed:
				s.record(true, 0)
			}
		}
		g := &f
		if f.Type == qn.TypeError && s.devVer == qn.V1 {
			// v1 has no ERROR frame, but it has NACK: the device learns
			// that its frame failed, with the fields v1 can carry (status).
			nack := f
			nack.Type = qn.TypeNack
			g = &nack
		}
		out, err := s.translate(buf, g, s.devVer, &loss)
		if err != nil {
			s.vc.refused.Add(1)
			log.Debug("qn frame refused by translation; NACK to the server", "seq", f.Seq, "type", f.Type.String(), "error", err)
			if nb, e := qn.Encode(buf[:0], qn.Header{Version: s.upVer, Type: qn.TypeNack, Seq: f.Seq}, nil); e == nil {
				if s.write(s.up, &s.upMu, nb, false) != nil {
					return
				}
			}
			continue
		}
		if len(out) > 0 && &out[0] != &f.Raw[0] {
			buf = out
		}
		if s.write(s.dev, &s.devMu, out, true) != nil {
			return
		}
	}
}

// answerTimeout is the upstream's timeout (default config.DefaultUpstreamTO):
// the longest a DATA frame waits for its answer.
func answerTimeout(u *config.Upstream) time.Duration {
	if u != nil && u.Timeout > 0 {
		return u.Timeout.D()
	}
	return config.DefaultUpstreamTO
}

// expire counts the DATA frames that waited longer than answerTO as failed
// (so a server that stops answering is rolled back like one that NACKs)
// and forgets them; an answer that comes later is not counted again.
func (s *session) expire(now time.Time) {
	s.pmu.Lock()
	var late []time.Duration
	for seq, sent := range s.pending {
		if wait := now.Sub(sent); wait >= s.answerTO {
			delete(s.pending, seq)
			late = append(late, wait)
		}
	}
	s.pmu.Unlock()
	for _, wait := range late {
		s.vc.unanswered.Add(1)
		s.record(true, wait)
	}
}

func (s *session) record(failed bool, latency time.Duration) {
	if st := s.l.m.o.Stats; st != nil {
		st.Record(s.key, failed, latency)
	}
}

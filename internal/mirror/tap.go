package mirror

import (
	"bytes"
	"io"
	"net/http"
	"strings"

	"github.com/turnout-gw/turnout/internal/pipeline"
	"github.com/turnout-gw/turnout/internal/route"
)

// tap follows one mirrored request: what Start copied of the request, and
// the primary's answer as it streamed to the client. Once Done queues it, it
// is the worker's job. It is the body the client's answer is read from too.
type tap struct {
	m        *Manager
	svc      *service
	rsvc     *route.Service // the table's service when the request arrived
	method   string
	path     string // the upstream path, as the primary got it
	rawPath  string
	query    string
	host     string
	header   http.Header // the outbound header, cloned before the primary's attempt
	body     []byte
	endpoint string

	served   *route.Version
	status   int
	respHdr  http.Header
	traceID  string
	finished bool
	// Tee copies the primary's answer as the client reads it, up to
	// max_body; the tap is the client's body.
	pipeline.Tee
}

// Start implements pipeline.Tap: it returns a tap when the decision
// selected the request for its service's mirror (route.Decision.Mirror),
// the manager mirrors that service to that version and is not closed, and
// the body fits max_body; nil otherwise.
func (m *Manager) Start(out *http.Request, d *route.Decision) pipeline.Exchange {
	rs := d.Service
	if rs == nil || d.Mirror == nil {
		return nil
	}
	s := m.lookup(rs.Name)
	if s == nil || d.Mirror.Name != s.to || m.p.Closed() {
		return nil
	}
	body, ok := s.buffer(out)
	if !ok {
		return nil
	}
	return &tap{
		m: m, svc: s, rsvc: rs, method: out.Method,
		path: out.URL.Path, rawPath: out.URL.RawPath, query: out.URL.RawQuery, host: out.Host,
		header: out.Header.Clone(), body: body, endpoint: endpointOf(out.Method, rs.PathPrefix, out.URL.Path),
	}
}

// buffer reads the request body once, up to max_body, and gives the primary
// the same bytes. A larger body is not mirrored (and counted): the primary
// gets what was read followed by the rest, unbuffered. An empty body needs
// no reading at all.
func (s *service) buffer(out *http.Request) ([]byte, bool) {
	if out.Body == nil || out.Body == http.NoBody || out.ContentLength == 0 {
		return nil, true
	}
	if out.ContentLength > s.maxBody {
		s.res.tooLarge.Add(1)
		return nil, false
	}
	orig := out.Body
	b, err := io.ReadAll(io.LimitReader(orig, s.maxBody+1))
	if err != nil || int64(len(b)) > s.maxBody {
		// The primary still gets every byte (and the read error, if any).
		rest := io.Reader(orig)
		if err != nil {
			rest = errReader{err}
		} else {
			s.res.tooLarge.Add(1)
		}
		out.Body = readCloser{io.MultiReader(bytes.NewReader(b), rest), orig}
		return nil, false
	}
	_ = orig.Close()
	out.Body = io.NopCloser(bytes.NewReader(b))
	out.ContentLength = int64(len(b))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return b, true
}

type readCloser struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Response implements pipeline.Exchange: it keeps the primary's status and
// headers and returns the tap as the body, which copies what the client
// reads, up to max_body.
func (t *tap) Response(resp *http.Response, served *route.Version) io.ReadCloser {
	t.served, t.status, t.respHdr = served, resp.StatusCode, resp.Header.Clone()
	t.Follow(resp.Body, resp.ContentLength, t.svc.maxBody)
	t.traceID = traceID(t.header)
	if resp.Request != nil {
		if id := traceID(resp.Request.Header); id != "" {
			t.traceID = id // the attempt span's, when tracing is on
		}
	}
	return t
}

// Done implements pipeline.Exchange: a primary that answered whole queues
// the copy for a worker; a full queue drops it (and counts it). It never
// blocks.
func (t *tap) Done(err error) {
	if t.finished {
		return
	}
	t.finished = true
	if err != nil || t.served == nil {
		return
	}
	t.m.p.Submit(&t.svc.res.Lane, t)
}

// traceID returns the trace id of a W3C traceparent header, or "".
func traceID(h http.Header) string {
	v := h["Traceparent"]
	if len(v) == 0 {
		return ""
	}
	parts := strings.Split(v[0], "-")
	if len(parts) < 4 || len(parts[1]) != 32 {
		return ""
	}
	return parts[1]
}

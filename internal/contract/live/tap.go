package live

import (
	"io"
	"net/http"

	"github.com/turnout-gw/turnout/internal/pipeline"
	"github.com/turnout-gw/turnout/internal/route"
)

// tap follows one request whose answer is validated or carries a
// Deprecation header. Once Done queues it, it is a worker's job.
type tap struct {
	m       *Manager
	svc     *service
	chk     *check // the check the answer is validated by, when validate is set
	version string // the version the request was routed to
	// deprecation is the Deprecation header value, "" when the request
	// used nothing deprecated.
	deprecation string

	// What validation needs, when validate is set: the request, the
	// answer's status and headers, and its body as the client read it.
	validate            bool
	method, path, query string
	status              int
	header              http.Header
	finished            bool
	pipeline.Tee
}

// Start implements pipeline.Tap: it records the deprecated items the
// request uses (for requests routed to a version whose document has any)
// and decides whether the answer is validated: a share of the answers of
// each checked version (HEAD answers have no body to validate and are not
// counted). An adapted version's answer is followed as the client gets
// it, after its response program. It returns nil, without
// allocating, when neither applies.
func (m *Manager) Start(out *http.Request, d *route.Decision) pipeline.Exchange {
	rs, v := d.Service, d.Version
	if rs == nil || v == nil {
		return nil
	}
	s := m.lookup(rs.Name)
	if s == nil {
		return nil
	}
	deprecation := ""
	if c := s.deprecated[v.Name]; c != nil {
		deprecation = m.recordDeprecated(s, c.dep, out, v.Name)
	}
	c := s.checks[v.Name]
	validate := c != nil && out.Method != http.MethodHead && m.o.Rand()%route.Buckets < s.upto && !m.p.Closed()
	if deprecation == "" && !validate {
		return nil
	}
	t := &tap{m: m, svc: s, chk: c, version: v.Name, deprecation: deprecation, validate: validate}
	if validate {
		t.method, t.path, t.query = out.Method, out.URL.Path, out.URL.RawQuery
	}
	return t
}

// recordDeprecated counts the deprecated operation and parameters r uses
// and returns the Deprecation header to answer with ("" when r used
// nothing deprecated).
func (m *Manager) recordDeprecated(s *service, dm *depMatcher, r *http.Request, version string) string {
	op := dm.match(r)
	if op == nil {
		return ""
	}
	client, used := "", false
	record := func(param string) {
		if client == "" {
			client = s.client.value(r)
		}
		s.use.record(m.o.Now(), version, op.label, param, client)
		used = true
	}
	if op.deprecated {
		record("")
	}
	for i := range op.params {
		if op.params[i].used(r) {
			record(op.params[i].name)
		}
	}
	if !used {
		return ""
	}
	return op.header
}

// Response implements pipeline.Exchange: it adds the Deprecation header
// (a deprecated version's own lifecycle headers, added after it, win) and,
// when the answer is validated, copies its body as the client reads it.
func (t *tap) Response(resp *http.Response, served *route.Version) io.ReadCloser {
	if served == nil || served.Name != t.version {
		t.validate = false // a fallback answered: not the version the request was routed to
		return resp.Body
	}
	if t.deprecation != "" {
		resp.Header["Deprecation"] = []string{t.deprecation}
	}
	if !t.validate {
		return resp.Body
	}
	if resp.ContentLength > t.svc.maxBody {
		t.chk.res.tooLarge.Add(1)
		t.validate = false
		return resp.Body
	}
	t.status, t.header = resp.StatusCode, resp.Header.Clone()
	t.Follow(resp.Body, resp.ContentLength, t.svc.maxBody)
	return t
}

// Done implements pipeline.Exchange: an answer that reached the client
// whole, within max_body, is queued for validation; a full queue drops it
// (counted). It never blocks.
func (t *tap) Done(err error) {
	if t.finished || !t.validate || !t.Following() {
		return
	}
	t.finished = true
	res := t.chk.res
	switch {
	case err != nil || t.m.p.Closed():
		return
	case t.Truncated:
		res.tooLarge.Add(1)
		return
	}
	t.m.p.Submit(&res.Lane, t)
}

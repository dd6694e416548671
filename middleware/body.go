package middleware

import (
	"bytes"
	"io"
	"net/http"

	"github.com/turnout-gw/turnout/internal/httperr"
	"github.com/turnout-gw/turnout/internal/route"
)

// A version from the body (negotiate.body), in process as in the proxy:
// when the table asks for the body (route.Table.WantsBody: the service
// reads its version from a JSON body and nothing before the body in
// sources carries one), at most negotiate.max_body bytes of it, plus one
// to tell a longer body, are read before deciding. The wrapped handler
// gets r.Body restored whole: what was read first, then the rest of a
// longer body as the client sends it. Nothing beyond the bound is held. A
// body that fails while it is read (the server's read timeout, a client
// gone, http.MaxBytesReader's limit) is the client's failure: answered
// 400, 408 or 413 (nothing to a client gone) and counted against no
// version. The server's own timeouts bound the read (http.Server's
// ReadTimeout, or a deadline set with http.ResponseController before the
// middleware).

// decideHTTP routes an HTTP request as decide does, with its body read
// first when the table asks for it. err is the client's body failure
// (a *httperr.ClientError).
func (m *Middleware) decideHTTP(r *http.Request) (route.Decision, error) {
	snap := m.core.Configs.Snapshot()
	in, err := readBody(snap.Table, r)
	return snap.Trust.DecideWith(snap.Table, r, in), err
}

// readBody reads what r's decision needs of its body and restores r.Body.
func readBody(t *route.Table, r *http.Request) (route.Input, error) {
	bound := t.WantsBody(r)
	if bound <= 0 {
		return route.Input{}, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, bound+1))
	if err != nil {
		return route.Input{}, httperr.ClientBody(err)
	}
	if int64(len(b)) > bound {
		r.Body = restored{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
		return route.Input{}, nil
	}
	r.Body = restored{bytes.NewReader(b), r.Body}
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return route.Input{Body: b}, nil
}

// restored is a request body partly or wholly read before deciding: it
// reads what was read, then the rest, and closes the original.
type restored struct {
	io.Reader
	io.Closer
}

// failBody answers a request whose body failed while it was read to
// decide it, as the client's failure.
func (m *Middleware) failBody(w http.ResponseWriter, r *http.Request, x *exchange, err error) {
	status := httperr.StatusOf(r.Context(), err)
	m.log.Info("client request failed", "service", x.d.Service.Name, "path", r.URL.Path, "status", status, "error", err)
	if status != httperr.StatusClientClosed {
		if r.ProtoMajor == 1 {
			w.Header().Set("Connection", "close")
		}
		httperr.Write(w, status, err.Error())
	}
	m.report(x, false, status, err)
}

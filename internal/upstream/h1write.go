package upstream

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// defaultUserAgent is what net/http sends when a request has no
// User-Agent key; an empty value sends none.
const defaultUserAgent = "Go-http-client/1.1"

// writeRequest writes req as HTTP/1.1 the way Request.Write does for the
// requests h1Transport.fits admits (no trailers, no chunking), without its
// per-request allocations: the request line from the URL's parts, Host,
// User-Agent, the header map as it is, Content-Length and the body.
// Header names are checked as net/http's Transport checks them; values
// have CR and LF replaced by spaces, as net/http does.
func writeRequest(w *bufio.Writer, req *http.Request) error {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !httpguts.ValidHostHeader(host) {
		return fmt.Errorf("invalid Host header %q", host)
	}
	w.WriteString(method)
	w.WriteByte(' ')
	u := req.URL
	if u.Opaque != "" {
		w.WriteString(u.RequestURI())
	} else {
		p := u.EscapedPath()
		if p == "" {
			p = "/"
		}
		w.WriteString(p)
		if u.ForceQuery || u.RawQuery != "" {
			w.WriteByte('?')
			w.WriteString(u.RawQuery)
		}
	}
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\n")

	ua := defaultUserAgent
	if v, ok := req.Header["User-Agent"]; ok {
		ua = ""
		if len(v) > 0 {
			ua = v[0]
		}
	}
	if ua != "" {
		writeField(w, "User-Agent", ua)
	}
	for k, vv := range req.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("invalid header field name %q", k)
		}
		for _, v := range vv {
			writeField(w, k, v)
		}
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	switch {
	case hasBody:
		w.WriteString("Content-Length: ")
		w.Write(strconv.AppendInt(w.AvailableBuffer(), req.ContentLength, 10))
		w.WriteString("\r\n")
	case method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions && method != http.MethodTrace:
		// Many servers expect a length on these methods, as net/http knows.
		w.WriteString("Content-Length: 0\r\n")
	}
	if req.Close {
		w.WriteString("Connection: close\r\n")
	}
	if _, err := w.WriteString("\r\n"); err != nil {
		return err
	}
	if !hasBody {
		return nil
	}
	n, err := io.CopyN(w, req.Body, req.ContentLength)
	_ = req.Body.Close()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("request body is %d bytes, ContentLength %d", n, req.ContentLength)
		}
		return err
	}
	return nil
}

// writeField writes one header line; CR and LF in v become spaces and
// surrounding blanks go.
func writeField(w *bufio.Writer, k, v string) {
	w.WriteString(k)
	w.WriteString(": ")
	v = strings.TrimSpace(v)
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	w.WriteString(v)
	w.WriteString("\r\n")
}

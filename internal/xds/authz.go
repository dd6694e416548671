package xds

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/trust"
)

// authz is Turnout's Envoy ext_authz (Authorization) service: for each
// request an Envoy node describes, it applies the current trust.Policy —
// the same decision the gateway makes — and answers with what Envoy must
// change before routing (see trust.go). It never denies for trust: an
// untrusted request is routed without its colour, not refused. It is safe
// for concurrent use; Server.Update swaps its state.
type authz struct {
	authv3.UnimplementedAuthorizationServer
	state atomic.Pointer[authzState]
}

// authzState is one published table and the policy compiled for it (nil:
// no trust block, every request trusted).
type authzState struct {
	table  *route.Table
	policy *trust.Policy
}

// errNotReady answers Envoy before the first table: it fails closed (503).
var errNotReady = errors.New("xds: no routing table yet")

// Check answers one Envoy request.
func (a *authz) Check(_ context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	st := a.state.Load()
	if st == nil {
		return nil, status.Error(codes.Unavailable, errNotReady.Error())
	}
	r, err := checkedRequest(req)
	if err != nil {
		return &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(codes.InvalidArgument), Message: err.Error()},
			HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
				Status: &typev3.HttpStatus{Code: typev3.StatusCode_BadRequest},
				Body:   errorBody(http.StatusBadRequest, "malformed request target"),
			}}}, nil
	}
	before := r.Header.Clone()
	beforeQuery := r.URL.RawQuery
	d := st.policy.Decide(st.table, r)
	return &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: okResponse(before, r, beforeQuery, d.Trusted)}}, nil
}

// okResponse tells Envoy to make its request what the policy left of r:
// the headers it removed removed, a changed Cookie set, the query
// parameters it removed removed, and headerTrusted set or removed.
func okResponse(before http.Header, r *http.Request, beforeQuery string, trusted bool) *authv3.OkHttpResponse {
	ok := &authv3.OkHttpResponse{}
	for name, vs := range before {
		after, kept := r.Header[name]
		switch {
		case !kept:
			ok.HeadersToRemove = append(ok.HeadersToRemove, strings.ToLower(name))
		case name == "Cookie" && strings.Join(after, "; ") != strings.Join(vs, "; "):
			ok.Headers = append(ok.Headers, setHeader("cookie", strings.Join(after, "; ")))
		}
	}
	sort.Strings(ok.HeadersToRemove)
	if trusted {
		ok.Headers = append(ok.Headers, setHeader(headerTrusted, "1"))
	} else {
		ok.HeadersToRemove = append(ok.HeadersToRemove, headerTrusted)
	}
	if beforeQuery != r.URL.RawQuery {
		ok.QueryParametersToRemove = removedQuery(beforeQuery, r.URL.RawQuery)
	}
	return ok
}

// removedQuery lists the parameters of the raw query before that after no
// longer has, by decoded name and by every spelling the request used
// ("fla%76our" as well as "flavour"), so that Envoy removes them whether
// it compares names decoded or as written.
func removedQuery(before, after string) []string {
	kept := map[string]bool{}
	eachQueryName(after, func(decoded, _ string) { kept[decoded] = true })
	set := map[string]bool{}
	eachQueryName(before, func(decoded, raw string) {
		if !kept[decoded] {
			set[decoded], set[raw] = true, true
		}
	})
	return sortedKeys(set)
}

// eachQueryName calls f with the decoded and the written name of each
// parameter of a raw query.
func eachQueryName(raw string, f func(decoded, written string)) {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		name, _, _ := strings.Cut(part, "=")
		decoded := name
		if n, err := url.QueryUnescape(name); err == nil {
			decoded = n
		}
		if name != "" {
			f(decoded, name)
		}
	}
}

// checkedRequest rebuilds the request Envoy describes, as the gateway
// would have received it: RemoteAddr is the downstream peer (Envoy's
// listener takes it from the connection), the header as sent.
func checkedRequest(req *authv3.CheckRequest) (*http.Request, error) {
	attrs := req.GetAttributes()
	h := attrs.GetRequest().GetHttp()
	u, err := url.ParseRequestURI(h.GetPath())
	if err != nil {
		return nil, err
	}
	r := &http.Request{Method: h.GetMethod(), URL: u, Host: h.GetHost(), RequestURI: h.GetPath(), Header: http.Header{}}
	if sa := attrs.GetSource().GetAddress().GetSocketAddress(); sa != nil {
		r.RemoteAddr = net.JoinHostPort(sa.GetAddress(), strconv.FormatUint(uint64(sa.GetPortValue()), 10))
	}
	add := func(k, v string) {
		if k == "" || k[0] == ':' {
			return
		}
		r.Header.Add(textproto.CanonicalMIMEHeaderKey(k), v)
	}
	if hm := h.GetHeaderMap(); hm != nil {
		for _, hv := range hm.GetHeaders() {
			add(hv.GetKey(), headerValue(hv))
		}
	} else {
		for k, v := range h.GetHeaders() {
			add(k, v)
		}
	}
	return r.WithContext(context.Background()), nil
}

func headerValue(hv *corev3.HeaderValue) string {
	if hv.GetRawValue() != nil {
		return string(hv.GetRawValue())
	}
	return hv.GetValue()
}

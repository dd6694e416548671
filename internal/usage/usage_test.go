package usage

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/store"
	"github.com/turnout-gw/turnout/internal/testutil/testclock"
)

var t0 = time.Date(2027, 3, 1, 10, 0, 30, 0, time.UTC)

// cfgWith is a one-service configuration with the given clients block.
func cfgWith(t testing.TB, clients string) *config.Config {
	t.Helper()
	src := `upstreams: {u: {targets: ["http://127.0.0.1:1"]}}
services:
  users:
    match: {path_prefix: /users}
    default: v2
    versions: {v1: {upstream: u}, v2: {upstream: u}}
` + clients
	cfg, err := config.Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newTracker(t testing.TB, clk *testclock.Clock, st store.Store, clients string) *Tracker {
	t.Helper()
	tr := New(Options{Now: clk.Now, Store: st, MaxOperations: 3})
	t.Cleanup(tr.Close)
	tr.Configure(cfgWith(t, clients))
	return tr
}

func call(tr *Tracker, version, client, method, path string) {
	r := httptest.NewRequest(method, path, nil)
	if client != "" {
		r.Header.Set("X-Client-ID", client)
	}
	tr.Record("users", version, r, path)
}

func usageOf(t *testing.T, tr *Tracker, version string) Version {
	t.Helper()
	vs, err := tr.Usage("users", version)
	if err != nil || len(vs) != 1 {
		t.Fatalf("Usage(users, %s) = %v, %v", version, vs, err)
	}
	return vs[0]
}

func TestCountsClientsOperationsAndBounds(t *testing.T) {
	clk := testclock.New(t0)
	tr := newTracker(t, clk, nil, "    clients: {key: header:X-Client-ID, max_clients: 2}\n")
	for i := range 5 {
		call(tr, "v1", "billing", "GET", fmt.Sprintf("/users/%d", i))
		clk.Advance(time.Second)
	}
	call(tr, "v1", "billing", "POST", "/users")
	call(tr, "v1", "billing", "GET", "/orders/1")
	call(tr, "v1", "billing", "DELETE", "/users/1") // a fourth operation: over MaxOperations
	call(tr, "v1", "", "GET", "/users/1")           // (none): the second client
	call(tr, "v1", "crm", "GET", "/users/1")        // beyond max_clients
	call(tr, "v1", "crm", "GET", "/users/2")
	call(tr, "v1", "ads", "GET", "/users/2")
	call(tr, "v2", "crm", "GET", "/users/2") // v2 has room of its own

	v1 := usageOf(t, tr, "v1")
	if v1.Requests != 12 || len(v1.Clients) != 3 {
		t.Fatalf("v1 = %+v, want 12 requests from billing, (none) and (other)", v1)
	}
	b := v1.Clients[0]
	wantOps := []Operation{{"GET /users", 5}, {"GET /orders", 1}, {"POST /users", 1}}
	if b.Client != "billing" || b.Requests != 8 || !slices.Equal(b.Operations, wantOps) || b.OtherOperations != 1 {
		t.Errorf("billing = %+v, want 8 requests, operations %v and 1 other", b, wantOps)
	}
	if !b.FirstSeen.Equal(t0) || !b.LastSeen.Equal(t0.Add(5*time.Second)) {
		t.Errorf("billing seen %v to %v, want %v to %v", b.FirstSeen, b.LastSeen, t0, t0.Add(5*time.Second))
	}
	if o := v1.Clients[1]; o.Client != OtherClient || o.Requests != 3 {
		t.Errorf("second client = %+v, want (other) with 3 requests", o)
	}
	if n := v1.Clients[2]; n.Client != NoClient || n.Requests != 1 {
		t.Errorf("third client = %+v, want (none) with 1 request", n)
	}
	if v2 := usageOf(t, tr, "v2"); v2.Requests != 1 || v2.Clients[0].Client != "crm" {
		t.Errorf("v2 = %+v, want crm's one request", v2)
	}
	if _, err := tr.Usage("users", "v9"); err != ErrUnknownVersion {
		t.Errorf("Usage(v9) = %v, want ErrUnknownVersion", err)
	}
	if _, err := tr.Usage("nope", ""); err != ErrUnknownService {
		t.Errorf("Usage(nope) = %v, want ErrUnknownService", err)
	}
	if all, _ := tr.Usage("users", ""); len(all) != 2 || all[0].Version != "v1" || all[1].Version != "v2" {
		t.Errorf("Usage(users) = %+v, want v1 and v2", all)
	}
}

func TestRecentWindows(t *testing.T) {
	clk := testclock.New(t0) // 10:00:30
	tr := newTracker(t, clk, nil, "    clients: {key: header:X-Client-ID}\n")
	call(tr, "v1", "old", "GET", "/users") // 10:00:30
	clk.Advance(30 * time.Minute)          // 10:30:30
	for range 3 {
		call(tr, "v1", "mid", "GET", "/users")
	}
	clk.Advance(29*time.Minute + 15*time.Second) // 10:59:45
	call(tr, "v1", "new", "GET", "/users")
	call(tr, "v1", "new", "GET", "/users")

	for _, tc := range []struct {
		window  time.Duration
		want    uint64
		clients []string
	}{
		{time.Minute, 2, []string{"new"}},
		{10 * time.Minute, 2, []string{"new"}},
		{30 * time.Minute, 5, []string{"mid", "new"}}, // from 10:29:45: minute 10:29 on
		{59 * time.Minute, 6, []string{"mid", "new"}}, // from 10:00:45: minute 10:00, old's, counts; old is not within

		{time.Hour, 6, []string{"mid", "new", "old"}}, // from 09:59:45: minute 09:59 on
		{48 * time.Hour, 6, []string{"mid", "new", "old"}},
	} {
		n, clients := tr.Recent("users", "v1", tc.window)
		if n != tc.want || !slices.Equal(clients, tc.clients) {
			t.Errorf("Recent(%v) = %d, %v; want %d, %v", tc.window, n, clients, tc.want, tc.clients)
		}
	}
	// A day later the ring has forgotten them: the minutes were reused or
	// fell out of the window.
	clk.Advance(24*time.Hour + time.Minute)
	if n, clients := tr.Recent("users", "v1", 24*time.Hour); n != 0 || clients != nil {
		t.Errorf("a day later Recent = %d, %v; want nothing", n, clients)
	}
	call(tr, "v1", "new", "GET", "/users")
	if n, _ := tr.Recent("users", "v1", time.Minute); n != 1 {
		t.Errorf("a reused bucket counts %d, want 1", n)
	}
	if n, c := tr.Recent("users", "v9", time.Hour); n != 0 || c != nil {
		t.Errorf("Recent(v9) = %d, %v", n, c)
	}
	if u := usageOf(t, tr, "v1"); u.Requests != 7 || u.Requests24h != 1 {
		t.Errorf("v1 requests %d, 24h %d; want 7 and 1", u.Requests, u.Requests24h)
	}
}

func TestRecentListsAtMostTenClients(t *testing.T) {
	clk := testclock.New(t0)
	tr := newTracker(t, clk, nil, "    clients: {key: header:X-Client-ID}\n")
	for i := range 15 {
		for range i + 1 {
			call(tr, "v1", fmt.Sprintf("c%02d", i), "GET", "/users")
		}
	}
	n, clients := tr.Recent("users", "v1", time.Hour)
	if n != 120 || len(clients) != MaxRecentClients || clients[0] != "c14" || clients[9] != "c05" {
		t.Errorf("Recent = %d, %v; want 120 requests and c14 … c05", n, clients)
	}
}

func TestPersistedExactly(t *testing.T) {
	clk := testclock.New(t0)
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	tr := New(Options{Now: clk.Now, Store: st})
	tr.Configure(cfgWith(t, "    clients: {key: header:X-Client-ID}\n"))
	call(tr, "v1", "billing", "GET", "/users/1")
	clk.Advance(1500 * time.Millisecond)
	call(tr, "v1", "billing", "PUT", "/users/1")
	call(tr, "v1", "crm", "GET", "/users/1")
	before, _ := tr.Usage("users", "")
	tr.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tr = New(Options{Now: clk.Now, Store: st})
	defer tr.Close()
	tr.Configure(cfgWith(t, "    clients: {key: header:X-Client-ID}\n"))
	after, _ := tr.Usage("users", "")
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("after a restart\n%+v\nwant\n%+v", after, before)
	}
	if n, c := tr.Recent("users", "v1", time.Minute); n != 3 || !slices.Equal(c, []string{"billing", "crm"}) {
		t.Errorf("Recent after restart = %d, %v", n, c)
	}
}

func TestShrinkFitsTheStore(t *testing.T) {
	clk := testclock.New(t0)
	st, err := store.Open(store.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tr := New(Options{Now: clk.Now, Store: st, MaxOperations: 32})
	tr.Configure(cfgWith(t, "    clients: {key: header:X-Client-ID, max_clients: 20000}\n"))
	long := strings.Repeat("x", 50)
	for i := range 12000 {
		call(tr, "v1", fmt.Sprintf("%s%05d", long, i), "GET", fmt.Sprintf("/op%d/1", i%32))
	}
	tr.Close()
	b, ok, err := st.GetBlob(Bucket, "users")
	if err != nil || !ok || len(b) > store.MaxBlobSize {
		t.Fatalf("stored %d bytes, %v, %v", len(b), ok, err)
	}
	tr2 := New(Options{Now: clk.Now, Store: st})
	defer tr2.Close()
	tr2.Configure(cfgWith(t, "    clients: {key: header:X-Client-ID, max_clients: 20000}\n"))
	var sum, other uint64
	v := usageOf(t, tr2, "v1")
	for _, c := range v.Clients {
		sum += c.Requests
		if c.Client == OtherClient {
			other = c.Requests
		}
	}
	if v.Requests != 12000 || sum != 12000 || other == 0 || len(v.Clients) >= 12000 {
		t.Errorf("after shrinking: %d requests, clients sum %d, %d clients, (other) %d", v.Requests, sum, len(v.Clients), other)
	}
}

func TestKeys(t *testing.T) {
	req := func(mod func(r *http.Request)) *http.Request {
		r := httptest.NewRequest("GET", "/users?client=q1&api_token=t0k", nil)
		r.RemoteAddr = "10.1.2.3:5555"
		mod(r)
		return r
	}
	for _, tc := range []struct {
		key  string
		mod  func(r *http.Request)
		want string
	}{
		{"header:X-Client-ID", func(r *http.Request) { r.Header.Set("X-Client-ID", "billing") }, "billing"},
		{"header:X-Client-ID", func(r *http.Request) {}, NoClient},
		{"header:Authorization", func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret") }, HashClient("Bearer s3cret")},
		{"cookie:sid", func(r *http.Request) { r.Header.Set("Cookie", "a=1; sid=abc") }, HashClient("abc")},
		{"query:client", func(r *http.Request) {}, "q1"},
		{"query:api_token", func(r *http.Request) {}, HashClient("t0k")},
		{"address", func(r *http.Request) {}, "10.1.2.3"},
		{"client_cert", func(r *http.Request) {}, NoClient},
		{"header:X-Client-ID", func(r *http.Request) { r.Header.Set("X-Client-ID", strings.Repeat("y", 100)) }, strings.Repeat("y", MaxClientLen)},
	} {
		k, err := config.ParseClientKey(tc.key)
		if err != nil {
			t.Fatal(err)
		}
		if got := NewKey(k).Client(req(tc.mod)); got != tc.want {
			t.Errorf("%s: client %q, want %q", tc.key, got, tc.want)
		}
	}
	k, _ := config.ParseClientKey("client_cert")
	r := req(func(*http.Request) {})
	r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{Subject: pkix.Name{CommonName: "billing", Organization: []string{"Acme"}}}}}}
	if got := NewKey(k).Client(r); got != "CN=billing,O=Acme" {
		t.Errorf("client_cert: %q, want the verified certificate's subject", got)
	}
	r.TLS.VerifiedChains = nil // presented but not verified
	if got := NewKey(k).Client(r); got != NoClient {
		t.Errorf("client_cert without a verified chain: %q", got)
	}
	if h := HashClient("Bearer s3cret"); len(h) != len("sha256:")+16 || !strings.HasPrefix(h, "sha256:") {
		t.Errorf("HashClient = %q", h)
	}
	if (Key{}).Client(req(func(*http.Request) {})) != NoClient {
		t.Error("the zero Key reads a client")
	}
}

// BenchmarkRecord is the per-request cost for a known client and
// operation.
func BenchmarkRecord(b *testing.B) {
	clk := testclock.New(t0)
	tr := newTracker(b, clk, nil, "    clients: {key: header:X-Client-ID}\n")
	r := httptest.NewRequest("GET", "/users/42", nil)
	r.Header.Set("X-Client-ID", "billing")
	tr.Record("users", "v1", r, "/users/42")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		tr.Record("users", "v1", r, "/users/42")
	}
}

// BenchmarkRecordHashed is the same with a credential as the key.
func BenchmarkRecordHashed(b *testing.B) {
	clk := testclock.New(t0)
	tr := newTracker(b, clk, nil, "    clients: {key: header:Authorization}\n")
	r := httptest.NewRequest("GET", "/users/42", nil)
	r.Header.Set("Authorization", "Bearer abcdefghijklmnop")
	tr.Record("users", "v1", r, "/users/42")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		tr.Record("users", "v1", r, "/users/42")
	}
}

func TestKeyString(t *testing.T) {
	for _, s := range []string{"header:X-Client-Id", "cookie:sid", "query:client", "client_cert", "address"} {
		k, _ := config.ParseClientKey(s)
		if got := NewKey(k).String(); got != s {
			t.Errorf("NewKey(%s).String() = %q", s, got)
		}
	}
}

// TestHourly: each client's requests per hour and the version's, oldest
// first over the last Hours hours, so a client's share over time is theirs
// over the version's.
func TestHourly(t *testing.T) {
	clk := testclock.New(t0) // 10:00:30
	tr := newTracker(t, clk, nil, "    clients: {key: header:X-Client-ID}\n")
	call(tr, "v1", "a", "GET", "/users")
	call(tr, "v1", "b", "GET", "/users")
	clk.Advance(2 * time.Hour) // 12:00:30
	call(tr, "v1", "a", "GET", "/users")
	call(tr, "v1", "a", "GET", "/users")
	v := usageOf(t, tr, "v1")
	if !v.HourlyFrom.Equal(time.Date(2027, 2, 28, 13, 0, 0, 0, time.UTC)) || len(v.Hourly) != Hours {
		t.Fatalf("hourly from %v, %d hours", v.HourlyFrom, len(v.Hourly))
	}
	if got := v.Hourly[Hours-3:]; !slices.Equal(got, []uint64{2, 0, 2}) {
		t.Errorf("version hourly ends %v, want [2 0 2]", got)
	}
	a := v.Clients[0]
	if a.Client != "a" || !slices.Equal(a.Hourly[Hours-3:], []uint64{1, 0, 2}) {
		t.Errorf("a = %+v, want hourly ending [1 0 2]", a)
	}
	clk.Advance(30 * time.Hour) // a day later the first hours are gone
	call(tr, "v1", "b", "GET", "/users")
	v = usageOf(t, tr, "v1")
	if b := v.Clients[1]; b.Client != "b" || b.Hourly[Hours-1] != 1 || slices.Max(b.Hourly[:Hours-1]) != 0 {
		t.Errorf("a day later b = %+v, want only its last hour", b)
	}
}

// TestSeriesIsBounded: a version called every minute for two days keeps
// one bucket per minute of the last day, no more, and Recent still sums
// them exactly.
func TestSeriesIsBounded(t *testing.T) {
	clk := testclock.New(t0)
	tr := newTracker(t, clk, nil, "    clients: {key: header:X-Client-ID}\n")
	for range 2 * RingMinutes {
		call(tr, "v1", "a", "GET", "/users")
		clk.Advance(time.Minute)
	}
	s := (*tr.services.Load())["users"]
	s.st.mu.Lock()
	v := s.st.version("v1")
	minutes, hours := len(v.minutes), len(v.client([]byte("a")).hours)
	s.st.mu.Unlock()
	if minutes != RingMinutes || hours != Hours {
		t.Errorf("%d minute and %d hour buckets, want %d and %d", minutes, hours, RingMinutes, Hours)
	}
	// The day is the current minute, empty, and the 1,439 before it.
	if n, _ := tr.Recent("users", "v1", 24*time.Hour); n != RingMinutes-1 {
		t.Errorf("Recent(24h) = %d, want %d", n, RingMinutes-1)
	}
}

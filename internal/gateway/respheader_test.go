package gateway_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/turnout-gw/turnout/internal/testutil"
	"github.com/turnout-gw/turnout/internal/testutil/rawserver"
)

// respHeaderYAML is limitsYAML with a 32 KiB bound on upstream answer heads.
var respHeaderYAML = strings.Replace(limitsYAML, "limits:\n", "limits:\n  max_response_header_bytes: 32KiB\n", 1)

// TestMaxResponseHeaderBytes: an upstream answer whose head exceeds
// limits.max_response_header_bytes is answered 502 and counted, whether
// the request went through the h1 transport (a GET) or net/http's (an
// upload over 64 KiB).
func TestMaxResponseHeaderBytes(t *testing.T) {
	tt := testutil.Start(t, respHeaderYAML, map[string]string{
		"V1": "http://" + rawserver.Start(t, rawserver.HugeHead(32<<20, nil)), "MAXCONN": "0"})
	c := &http.Client{Timeout: 30 * time.Second}
	if s, _, body := testutil.Get(t, c, tt.URL+"/a"); s != http.StatusBadGateway || !strings.Contains(body, "max_response_header_bytes") {
		t.Errorf("GET: %d %s, want 502 naming max_response_header_bytes", s, body)
	}
	resp, err := c.Post(tt.URL+"/b", "application/octet-stream", bytes.NewReader(bytes.Repeat([]byte("b"), 100<<10)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "max_response_header_bytes") {
		t.Errorf("POST: %d %s, want 502 naming max_response_header_bytes", resp.StatusCode, body)
	}
	if got := testutil.Metric(t, tt, `turnout_limit_rejections_total{limit="response_header_bytes"}`); got != "2" {
		t.Errorf("response_header_bytes rejections %q, want 2", got)
	}
}

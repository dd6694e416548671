package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// Admin client defaults and environment variables.
const (
	// DefaultAdminURL is where the admin commands look for the admin API.
	DefaultAdminURL = "http://127.0.0.1:9901"
	// EnvAdminURL overrides DefaultAdminURL; --admin overrides both.
	EnvAdminURL = "TURNOUT_ADMIN"
	// EnvAdminToken holds the bearer token sent with every request.
	EnvAdminToken = "TURNOUT_ADMIN_TOKEN"
	// adminTimeout bounds one admin API request.
	adminTimeout = 10 * time.Second
	// maxAnswer bounds how much of an admin API answer is read.
	maxAnswer = 16 << 20
)

// Output formats of the admin commands.
const (
	outputTable = "table"
	outputJSON  = "json"
)

// adminFlags are the flags every admin command takes.
type adminFlags struct {
	admin  string
	output string
}

// addAdminFlags registers --admin and -o/--output on cmd.
func addAdminFlags(cmd *cobra.Command) *adminFlags {
	f := &adminFlags{}
	def := DefaultAdminURL
	if env := os.Getenv(EnvAdminURL); env != "" {
		def = env
	}
	cmd.PersistentFlags().StringVar(&f.admin, "admin", def, "admin API base URL (env "+EnvAdminURL+")")
	cmd.PersistentFlags().StringVarP(&f.output, "output", "o", outputTable, "output format: table | json")
	return f
}

// client builds the admin client the flags describe; bad flags are usage
// errors (exit 2).
func (f *adminFlags) client() (*adminClient, error) {
	if f.output != outputTable && f.output != outputJSON {
		return nil, usageError("--output %q: want table or json", f.output)
	}
	base, err := normalizeAdminURL(f.admin)
	if err != nil {
		return nil, usageError("--admin %q: %v", f.admin, err)
	}
	return &adminClient{base: base, token: os.Getenv(EnvAdminToken), hc: &http.Client{Timeout: adminTimeout}}, nil
}

// normalizeAdminURL accepts "http(s)://host:port[/prefix]" or "host:port"
// and returns it without a trailing slash.
func normalizeAdminURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errors.New("want http://HOST:PORT")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// usageError is a bad argument or flag: exit code 2.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// failure is an admin command failing: exit code 1.
func failure(err error) error { return &exitError{code: 1, err: err} }

// adminClient talks JSON to the admin API.
type adminClient struct {
	base  string
	token string
	hc    *http.Client
}

// do sends one request (body marshalled as JSON when not nil) and returns
// the answer's body. Failures are readable errors ready for the user.
func (c *adminClient) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("building the request for %s: %w", c.base, err)
	}
	req.Header.Set("Accept", "application/json")
	if method != http.MethodGet {
		// An admin API without a token takes actions only as JSON (a web
		// page cannot send that to another origin), with a body or not.
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the admin API at %s: %s (is turnout serve running? use --admin)", c.base, reachReason(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of the admin API at %s: %s", c.base, reachReason(err))
	}
	if resp.StatusCode == http.StatusUnauthorized {
		if c.token == "" {
			return nil, fmt.Errorf("the admin API refused the token: set %s", EnvAdminToken)
		}
		return nil, fmt.Errorf("the admin API refused the token: %s does not match the server's token", EnvAdminToken)
	}
	if resp.StatusCode >= 300 {
		return nil, apiError(method, path, resp.StatusCode, b)
	}
	return b, nil
}

// get decodes the JSON answer to GET path into v and returns the raw body.
func (c *adminClient) get(ctx context.Context, path string, v any) ([]byte, error) {
	b, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			return nil, fmt.Errorf("the admin API at %s answered GET %s with unexpected JSON: %w", c.base, path, err)
		}
	}
	return b, nil
}

// send runs a mutation and decodes its JSON answer into v.
func (c *adminClient) send(ctx context.Context, method, path string, body, v any) ([]byte, error) {
	b, err := c.do(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("the admin API at %s answered %s %s with unexpected JSON: %w", c.base, method, path, err)
	}
	return b, nil
}

// apiError turns an error answer into the API's own message when it sent
// one ({"error": ...}), else the status and the start of the body.
func apiError(method, path string, status int, body []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return errors.New(e.Error)
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	if text == "" {
		text = http.StatusText(status)
	}
	return fmt.Errorf("the admin API answered %s %s with %d: %s", method, path, status, text)
}

// reachReason names why a request got no answer in a few words.
func reachReason(err error) string {
	var ne net.Error
	var dns *net.DNSError
	var op *net.OpError
	var ue *url.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &dns):
		return "unknown host " + dns.Name
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("no answer within %v", adminTimeout)
	case errors.As(err, &op):
		return op.Err.Error()
	case errors.As(err, &ue):
		return ue.Err.Error()
	}
	return err.Error()
}

// printJSON writes an API answer indented, as it came.
func printJSON(w io.Writer, body []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(body), "", "  "); err != nil {
		buf.Reset()
		buf.Write(bytes.TrimSpace(body))
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

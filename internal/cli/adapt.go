package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/turnout-gw/turnout/internal/adapt"
	"github.com/turnout-gw/turnout/internal/route"
)

// maxSample bounds the sample body adapt test reads from stdin.
const maxSample = 64 << 20

func adaptCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "adapt",
		Short: "Work with the adapters of versions served by another version's upstream",
	}
	cmd.AddCommand(adaptTestCmd())
	return cmd
}

func adaptTestCmd() *cobra.Command {
	var file, service, version, stage, method, path, query, sample string
	var status int
	var headers []string
	cmd := &cobra.Command{
		Use:   "test -c FILE --service NAME --version NAME [--stage request|response] < sample.json",
		Short: "Run a version's adapter offline on a sample JSON body and print the result",
		Long: `Run a version's adapter offline on a sample JSON body read from stdin (empty:
no body) and print what the program yields, as JSON: {method, path, query,
headers, body} for --stage request, {status, headers, body} for --stage
response (the default). --method and --path pick the operation (and are what
the request program sees); -H 'Name: value' adds a header. A program that
fails prints its error and exits 1, as the proxy would answer 502.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if stage != string(adapt.StageRequest) && stage != string(adapt.StageResponse) {
				return &exitError{code: 2, err: fmt.Errorf("--stage %q: use request or response", stage)}
			}
			cfg, err := loadChecked(file, cmd.ErrOrStderr())
			if err != nil {
				return &exitError{code: 1}
			}
			table, err := route.Compile(cfg)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			a, err := findAdapter(table, service, version)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			in := cmd.InOrStdin()
			if sample != "-" {
				f, err := os.Open(sample)
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("--sample: %w", err)}
				}
				defer f.Close()
				in = f
			}
			body, err := io.ReadAll(io.LimitReader(in, maxSample+1))
			if err != nil || len(body) > maxSample {
				return &exitError{code: 2, err: fmt.Errorf("reading the sample: %v (at most %d bytes)", err, maxSample)}
			}
			if strings.TrimSpace(string(body)) == "" {
				body = nil
			}
			h := http.Header{"Content-Type": {"application/json"}}
			for _, kv := range headers {
				k, v, ok := strings.Cut(kv, ":")
				if !ok {
					return &exitError{code: 2, err: fmt.Errorf("-H %q: write Name: value", kv)}
				}
				h.Add(textproto.TrimString(k), textproto.TrimString(v))
			}
			out, err := runAdapter(cmd.Context(), a, adapt.Stage(stage), method, path, query, status, h, body)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", "turnout.yaml", "configuration file")
	f.StringVar(&service, "service", "", "the service (required)")
	f.StringVar(&version, "version", "", "the adapted version, one with served_by (required)")
	f.StringVar(&stage, "stage", string(adapt.StageResponse), "request or response")
	f.StringVar(&method, "method", http.MethodGet, "the request's method")
	f.StringVar(&path, "path", "/", "the request's path (as sent upstream)")
	f.StringVar(&query, "query", "", "the request's query string (request stage)")
	f.IntVar(&status, "status", http.StatusOK, "the answer's status (response stage)")
	f.StringVar(&sample, "sample", "-", "the sample body's file (-: stdin)")
	f.StringArrayVarP(&headers, "header", "H", nil, "a header, 'Name: value' (repeatable)")
	_ = cmd.MarkFlagRequired("service")
	_ = cmd.MarkFlagRequired("version")
	return cmd
}

// findAdapter returns the adapter of service's version in table.
func findAdapter(table *route.Table, service, version string) (*adapt.Adapter, error) {
	s := table.Service(service)
	if s == nil {
		return nil, fmt.Errorf("--service %q is not in the configuration", service)
	}
	v := s.Version(version)
	switch {
	case v == nil:
		return nil, fmt.Errorf("--version %q is not a version of %s (versions: %s)", version, service, strings.Join(s.VersionNames(), ", "))
	case v.Adapter == nil:
		return nil, fmt.Errorf("version %s of %s has no served_by, so no adapter", version, service)
	}
	return v.Adapter, nil
}

// runAdapter runs the programs a request of method to path selects, at
// stage, and returns the adapted message as the program saw it.
func runAdapter(ctx context.Context, a *adapt.Adapter, stage adapt.Stage, method, path, query string, status int, h http.Header, body []byte) (any, error) {
	pair := a.Select(method, path)
	raw := func(b []byte) json.RawMessage {
		if b == nil {
			return json.RawMessage("null")
		}
		return b
	}
	if stage == adapt.StageRequest {
		r := adapt.Request{Method: method, Path: path, RawQuery: query, Header: h, Body: body}
		if err := a.AdaptRequest(ctx, pair.Request, &r); err != nil {
			return nil, err
		}
		q, _ := url.ParseQuery(r.RawQuery)
		return map[string]any{"method": r.Method, "path": r.Path, "query": q, "headers": r.Header, "body": raw(r.Body)}, nil
	}
	r := adapt.Response{Status: status, Header: h, Body: body}
	if err := a.AdaptResponse(ctx, pair.Response, &r); err != nil {
		return nil, err
	}
	return map[string]any{"status": r.Status, "headers": r.Header, "body": raw(r.Body)}, nil
}

package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/core"
)

func validateCmd() *cobra.Command {
	var file string
	var appliers []string
	cmd := &cobra.Command{
		Use:   "validate -c FILE [--for APPLIER]...",
		Short: "Check a configuration: exit 0 if valid, else one line per problem (FILE:LINE:COL: message) and exit 1",
		Long: `Check a configuration: exit 0 if valid, else one line per problem (FILE:LINE:COL: message) and exit 1.

--for APPLIER (repeatable, or a comma list) also refuses every key that applier
cannot honour (the applier table): proxy, middleware, xds-envoy, xds-grpc, qn.
Without it the proxy is checked, qn services for the QN listener, and, with an
xds block, what Envoy and proxyless gRPC cannot honour is printed as warnings.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []config.Applier
			for _, a := range appliers {
				for _, name := range strings.Split(a, ",") {
					ap, err := config.ParseApplier(name)
					if err != nil {
						return &exitError{code: 2, err: fmt.Errorf("--for: %w", err)}
					}
					list = append(list, ap)
				}
			}
			cfg, err := loadChecked(file, cmd.ErrOrStderr())
			if err != nil {
				return &exitError{code: 1}
			}
			if refusedFor(cfg, list, cmd.ErrOrStderr()) {
				return &exitError{code: 1}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d services, %d upstreams)\n", file, len(cfg.Services), len(cfg.Upstreams))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "turnout.yaml", "configuration file")
	cmd.Flags().StringSliceVar(&appliers, "for", nil, "also refuse what APPLIER cannot honour: proxy, middleware, xds-envoy, xds-grpc, qn (repeatable or comma list)")
	return cmd
}

// refusedFor prints to w, as problems, every key of cfg the appliers
// cannot honour (config.Config.Refusals, the keys an applier keeps with a
// warning at run time included), each prefixed with its applier, and
// reports whether there was one.
func refusedFor(cfg *config.Config, appliers []config.Applier, w io.Writer) bool {
	seen := map[config.Applier]bool{}
	refused := false
	for _, a := range appliers {
		if seen[a] {
			continue
		}
		seen[a] = true
		for _, r := range cfg.Refusals(a) {
			e := r.Error(false)
			e.Msg = string(a) + ": " + e.Msg
			fmt.Fprintln(w, e.Error())
			refused = true
		}
	}
	return refused
}

// loadChecked loads file and dry-runs the compile, loading every OpenAPI
// document and comparing each rollout's pair (what validate does and what
// serve does before starting); every problem is printed to w as one
// FILE:LINE:COL: message line (qn services' keys the QN listener refuses
// among them), and so is every rollout whose contracts have breaking
// changes, and (with an xds block) every key Envoy or proxyless gRPC
// cannot honour (the applier table), as warnings that do not fail the
// check.
func loadChecked(file string, w io.Writer) (*config.Config, error) {
	cfg, err := config.Load(file)
	var contracts *core.Contracts
	if err == nil {
		contracts, err = core.Check(cfg)
	}
	if err != nil {
		for _, e := range config.Flatten(err) {
			fmt.Fprintln(w, e.Error())
		}
		return nil, err
	}
	for _, e := range contracts.Warnings() {
		fmt.Fprintln(w, e.Error())
	}
	if cfg.XDS != nil {
		for _, e := range xdsWarnings(cfg) {
			fmt.Fprintln(w, e.Error())
		}
	}
	return cfg, nil
}

// xdsWarnings are the refusals of both xDS appliers as warnings, each
// problem once, Envoy's first (what xds.Warnings gives for the compiled
// table).
func xdsWarnings(cfg *config.Config) config.Errors {
	var out config.Errors
	seen := map[string]bool{}
	for _, a := range []config.Applier{config.ApplierEnvoy, config.ApplierGRPC} {
		for _, r := range cfg.Refusals(a) {
			e := r.Error(true)
			e.Msg = "xds: " + e.Msg
			if !seen[e.Error()] {
				seen[e.Error()] = true
				out = append(out, e)
			}
		}
	}
	return out
}

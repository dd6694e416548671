package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/core"
	"github.com/turnout-gw/turnout/internal/route"
	"github.com/turnout-gw/turnout/internal/xds"
)

func validateCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "validate -c FILE",
		Short: "Check a configuration: exit 0 if valid, else one line per problem (FILE:LINE:COL: message) and exit 1",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadChecked(file, cmd.ErrOrStderr())
			if err != nil {
				return &exitError{code: 1}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d services, %d upstreams)\n", file, len(cfg.Services), len(cfg.Upstreams))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "turnout.yaml", "configuration file")
	return cmd
}

// loadChecked loads file and dry-runs the compile, loading every OpenAPI
// document and comparing each rollout's pair (what validate does and what
// serve does before starting); every problem is printed to w as one
// FILE:LINE:COL: message line, and so is every rollout whose contracts
// have breaking changes, and (with an xds block) every rule or setting
// Envoy cannot express, as warnings that do not fail the check.
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
		// What Envoy and proxyless gRPC cannot express (the table compiled
		// above, so this cannot fail).
		if table, err := route.Compile(cfg); err == nil {
			for _, e := range xds.Warnings(table) {
				fmt.Fprintln(w, e.Error())
			}
		}
	}
	return cfg, nil
}

package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/turnout-gw/turnout/internal/config"
	"github.com/turnout-gw/turnout/internal/gateway"
)

func validateCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "validate -c FILE",
		Short: "Check a configuration: exit 0 if valid, else one line per problem (FILE:LINE:COL: message) and exit 1",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(file)
			if err == nil {
				err = gateway.Validate(cfg)
			}
			if err != nil {
				for _, e := range config.Flatten(err) {
					fmt.Fprintln(cmd.ErrOrStderr(), e.Error())
				}
				return &exitError{code: 1}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d services, %d upstreams)\n", file, len(cfg.Services), len(cfg.Upstreams))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "turnout.yaml", "configuration file")
	return cmd
}
